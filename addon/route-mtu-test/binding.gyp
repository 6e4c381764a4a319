# Builds only the path-MTU lookup (../src/route_mtu.cc) into its own module, route_mtu_test.node, for
# test/pmtu/ until the main module (addon/binding.gyp) calls InitRouteMtu. Same flags as the main module.
#   npm run build:route-mtu-test
{
  "targets": [
    {
      "target_name": "route_mtu_test",
      "sources": ["module.cc", "../src/route_mtu.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-O3"],
      "cflags_cc!": ["-O3"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "cflags_cc": ["-O2", "-Wall", "-Wextra", "-std=gnu++17"]
    }
  ]
}
