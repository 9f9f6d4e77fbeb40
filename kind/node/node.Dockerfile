# An air-gapped kind node image: a systemd Debian with containerd, runc, the CNI plugins,
# kubeadm, kubelet and kubectl, and every image kubeadm and kind's add-ons need, in
# /kind/images (imported into containerd at first boot). Built by kind/node/build.
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      systemd systemd-sysv dbus libseccomp2 runc containernetworking-plugins \
      iptables ipset iproute2 conntrack ethtool socat util-linux mount kmod procps ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && systemctl mask getty.target console-getty.service systemd-udevd.service systemd-udevd-control.socket \
      systemd-udevd-kernel.socket systemd-modules-load.service sys-kernel-debug.mount \
      sys-kernel-tracing.mount systemd-logind.service \
 && systemctl set-default multi-user.target

ARG KUBERNETES_VERSION
COPY bin/containerd bin/containerd-shim-runc-v2 bin/ctr /usr/local/bin/
COPY bin/kubeadm bin/kubelet bin/kubectl /usr/bin/
COPY rootfs/ /
COPY manifests/ /kind/manifests/
COPY images/ /kind/images/
RUN echo "${KUBERNETES_VERSION}" >/kind/version \
 && mkdir -p /etc/kubernetes/manifests /var/lib/kubelet \
 && systemctl enable containerd.service kind-import-images.service kubelet.service

ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/node-entrypoint", "/sbin/init"]
