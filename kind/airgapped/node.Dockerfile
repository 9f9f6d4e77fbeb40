# An air-gapped kind node image: a systemd Debian with containerd, runc, the CNI plugins,
# kubeadm, kubelet and kubectl, and every image kubeadm and kind's add-ons need, already in
# containerd's store (as in kind's own node images). Built by kind/airgapped/build.
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE} AS base

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
RUN mkdir -p /kind && echo "${KUBERNETES_VERSION}" >/kind/version

# The images go into containerd's store in a stage of their own, so that their archives are
# not also carried in the node image.
FROM base AS images
LABEL votingapp.kind-node.stage=preload
COPY images/ /tmp/images/
COPY preload/preload-images /usr/local/bin/
RUN preload-images /tmp/images

FROM base
COPY --from=images /var/lib/containerd /var/lib/containerd
COPY rootfs/ /
COPY manifests/ /kind/manifests/
RUN mkdir -p /etc/kubernetes/manifests /var/lib/kubelet \
 && systemctl enable containerd.service kubelet.service

ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/node-entrypoint", "/sbin/init"]
