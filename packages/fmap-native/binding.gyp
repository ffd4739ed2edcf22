{
  "targets": [
    {
      "target_name": "fmap_native",
      "sources": ["native/fmap_native.c", "native/file_io.c", "native/inline_io.c", "native/napi_util.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-pthread"],
      "ldflags": ["-pthread"]
    }
  ]
}
