{
  "targets": [
    {
      "target_name": "fmap_native",
      "sources": ["native/fmap_native.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
