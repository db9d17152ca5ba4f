{
  "targets": [
    {
      "target_name": "faultline_splice",
      "sources": ["splice.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    }
  ]
}
