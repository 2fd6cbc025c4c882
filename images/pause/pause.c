/*
 * pause: the process that owns a pod's namespaces.
 *
 * It sleeps forever, reaps every zombie re-parented to it (it is PID 1 of the
 * pod when the PID namespace is shared), and exits 0 on SIGTERM or SIGINT so a
 * pod stops at once instead of waiting out its grace period.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_terminate(int signo) {
    (void)signo;
    _exit(0);
}

static void on_child(int signo) {
    (void)signo;
    int saved_errno = errno;
    /* One SIGCHLD may stand for several exited children: reap them all. */
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    errno = saved_errno;
}

static int install(int signo, void (*handler)(int), int flags) {
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = handler;
    action.sa_flags = flags;
    sigemptyset(&action.sa_mask);
    return sigaction(signo, &action, NULL);
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    /* PID 1 gets no default signal actions from the kernel: handlers are needed. */
    if (install(SIGTERM, on_terminate, 0) < 0 || install(SIGINT, on_terminate, 0) < 0 ||
        install(SIGCHLD, on_child, SA_NOCLDSTOP | SA_RESTART) < 0) {
        perror("pause: sigaction");
        return 1;
    }
    for (;;) {
        pause();
    }
    return 0;
}
