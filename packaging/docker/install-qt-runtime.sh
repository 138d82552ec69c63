#!/bin/sh
# Qt's runtime libraries for the station images (Debian 12 and Ubuntu 24.04 bases): the xcb
# and wayland platform plugins, fonts, OpenGL through Mesa, D-Bus. Run as root in a Dockerfile.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update
# GLib is libglib2.0-0t64 from Ubuntu 24.04 / Debian 13 on, libglib2.0-0 before
GLIB=libglib2.0-0
if apt-cache show libglib2.0-0t64 >/dev/null 2>&1; then GLIB=libglib2.0-0t64; fi
apt-get install -y --no-install-recommends \
  "$GLIB" libgl1 libegl1 libgomp1 libfontconfig1 libfreetype6 fonts-dejavu-core libdbus-1-3 \
  libxkbcommon0 libxkbcommon-x11-0 libx11-6 libx11-xcb1 libxext6 libxrender1 libxi6 \
  libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 \
  libxcb-render0 libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-xfixes0 \
  libxcb-xinerama0 libxcb-xkb1 libwayland-client0 libwayland-cursor0 libwayland-egl1
rm -rf /var/lib/apt/lists/*
