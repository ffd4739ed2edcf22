{
  "targets": [
    {
      "target_name": "fmap_native",
      "variables": {
        "kit": "<!(node -p \"require('fs').existsSync('native-kit/napi_kit.c') ? 'native-kit' : '../../native-kit'\")"
      },
      "sources": ["native/fmap_native.c", "native/file_io.c", "native/inline_io.c", "native/napi_util.c", "<(kit)/napi_kit.c"],
      "include_dirs": ["<(kit)"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-pthread"],
      "ldflags": ["-pthread"]
    }
  ]
}
