"""Kajitori's ingress controller: Ingresses rendered into an nginx configuration (render.py), nginx driven through a small seam (nginx.py), the control loop (controller.py)."""
