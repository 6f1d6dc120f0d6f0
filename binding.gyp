{
  "targets": [
    {
      "target_name": "eyrie_native",
      "sources": [
        "src/native/addon.cc",
        "src/native/admissions.cc",
        "src/native/aio.cc",
        "src/native/attach.cc",
        "src/native/attributes.cc",
        "src/native/calls.cc",
        "src/native/channel.cc",
        "src/native/content.cc",
        "src/native/daemon.cc",
        "src/native/deferred.cc",
        "src/native/files.cc",
        "src/native/filter.cc",
        "src/native/memory.cc",
        "src/native/order.cc",
        "src/native/pagemarks.cc",
        "src/native/procfs.cc",
        "src/native/scanfilter.cc",
        "src/native/spawn.cc",
        "src/native/stopstats.cc",
        "src/native/tracer.cc",
        "src/native/views.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++1y", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-fno-exceptions"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    }
  ]
}
