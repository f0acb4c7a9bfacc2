{
  "targets": [
    {
      "target_name": "coffer_fs",
      "sources": ["coffer_fs.c", "aead.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
    }
  ]
}
