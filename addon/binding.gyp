{
  "target_defaults": {
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
    "cflags!": ["-O3", "-Wno-unused-parameter"],
    "cflags_cc!": ["-O3", "-Wno-unused-parameter"],
    "cflags": ["-O2", "-Wall", "-Wextra", "-Werror"],
    "cflags_cc": ["-O2", "-Wall", "-Wextra", "-Werror", "-std=gnu++17"]
  },
  "targets": [
    {
      "target_name": "nfqueue_bindings",
      "sources": [
        "src/addon.cc",
        "src/queue.cc",
        "src/route_mtu.cc",
        "src/netlink_socket.cc",
        "src/socket_watch.cc"
      ]
    },
    { "target_name": "sd_notify", "sources": ["src/sd_notify.cc"] }
  ]
}
