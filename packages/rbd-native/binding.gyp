{
  "targets": [
    {
      "target_name": "rbd_native",
      "variables": {
        "kit": "<!(node -p \"require('fs').existsSync('native-kit/napi_kit.c') ? 'native-kit' : '../../native-kit'\")"
      },
      "sources": [
        "native/rbd_native.c",
        "native/image.c",
        "native/jobs.c",
        "native/cluster_jobs.c",
        "native/image_jobs.c",
        "<(kit)/napi_kit.c"
      ],
      "include_dirs": ["<(kit)"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-pthread"],
      "ldflags": ["-pthread"],
      "libraries": ["-lrbd", "-lrados"]
    }
  ]
}
