#!/usr/bin/env bash
# Build-time setup of the node image (runs once, inside `docker build`).
set -euo pipefail

# python-iptables speaks only the legacy backend: Docker's rules and the
# proxy's must land in the same tables, so choose it before dockerd ever runs.
update-alternatives --set iptables /usr/sbin/iptables-legacy
update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy

# The account Vagrant logs in with: its well-known key, sudo without password.
useradd --create-home --shell /bin/bash --groups sudo,docker vagrant
echo 'vagrant ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/vagrant
chmod 0440 /etc/sudoers.d/vagrant
install -d -m 0700 -o vagrant -g vagrant /home/vagrant/.ssh
install -m 0600 -o vagrant -g vagrant /tmp/vagrant.pub /home/vagrant/.ssh/authorized_keys
# Vagrant's docker provider logs in by key only.
passwd -d root >/dev/null
passwd -l vagrant >/dev/null || true
usermod -p '*' vagrant

# Host keys are made per node at first boot (ssh-host-keys.service), not shared by every node.
rm -f /etc/ssh/ssh_host_*
systemctl enable ssh-host-keys.service ssh.service docker.service containerd.service
# etcd and keepalived serve only the masters of a three-master lab, which Ansible configures
# and starts; on every other machine (and before that) they stay off.
systemctl disable etcd.service keepalived.service
# Writable net.* settings of the node's own network namespace (see the unit).
systemctl enable proc-sys-net-rw.service

# Units that need hardware, a console or kernel mounts a container cannot have.
systemctl mask \
  getty.target console-getty.service getty@tty1.service serial-getty@ttyS0.service \
  systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
  systemd-udev-trigger.service systemd-udev-settle.service \
  sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
  sys-fs-fuse-connections.mount dev-hugepages.mount dev-mqueue.mount \
  systemd-remount-fs.service systemd-modules-load.service systemd-sysctl.service \
  systemd-firstboot.service systemd-binfmt.service proc-sys-fs-binfmt_misc.automount \
  systemd-resolved.service systemd-timesyncd.service e2scrub_reap.service \
  apt-daily.timer apt-daily-upgrade.timer
# The kernel ring buffer is the host's; journald must not try to read it.
mkdir -p /etc/systemd/journald.conf.d
printf '[Journal]\nReadKMsg=no\n' > /etc/systemd/journald.conf.d/container.conf

# A machine id per node, made by systemd at boot.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
echo node > /etc/hostname
# pam_env reads it at every SSH login.
echo 'LANG=C.UTF-8' > /etc/default/locale
