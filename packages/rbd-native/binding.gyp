{
  "targets": [
    {
      "target_name": "rbd_native",
      "sources": ["native/rbd_native.c", "native/image.c", "native/jobs.c", "native/cluster_jobs.c", "native/image_jobs.c", "native/util.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-pthread"],
      "ldflags": ["-pthread"],
      "libraries": ["-lrbd", "-lrados"]
    }
  ]
}
