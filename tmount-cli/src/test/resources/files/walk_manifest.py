#!/usr/bin/python3
"""An independent walk of a host tree, printing what `tmount manifest` prints of a build (mtree syntax)."""
import base64
import hashlib
import os
import stat
import sys

root = os.fsencode(sys.argv[1])
skip = {os.fsencode(s) for s in sys.argv[2:]}


def mtree(name):
    return "".join(chr(b) if 0x20 < b < 0x7f and b != 0x5c else "\\%03o" % b for b in name)


def kind(mode):
    for test, name in ((stat.S_ISREG, "file"), (stat.S_ISDIR, "dir"), (stat.S_ISLNK, "link"),
                       (stat.S_ISCHR, "char"), (stat.S_ISBLK, "block"), (stat.S_ISFIFO, "fifo"),
                       (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name


def line(path, rel):
    st = os.lstat(path)
    t = kind(st.st_mode)
    out = ["." + mtree(rel) if rel else ".", "type=" + t, "mode=%04o" % stat.S_IMODE(st.st_mode),
           "uid=%d" % st.st_uid, "gid=%d" % st.st_gid]
    if t == "file":
        if st.st_nlink > 1:
            out.append("nlink=%d" % st.st_nlink)
        out.append("size=%d" % st.st_size)
    elif t == "link":
        out.append("link=" + mtree(os.readlink(path)))
    elif t in ("char", "block"):
        out.append("device=%d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev)))
    if t == "file":
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        out.append("sha256digest=" + h.hexdigest())
    for name in sorted(os.listxattr(path, follow_symlinks=False)):
        value = os.getxattr(path, name, follow_symlinks=False)
        out.append("xattr." + mtree(name.encode()) + "=" + base64.b64encode(value).decode())
    print(" ".join(out))
    if t == "dir":
        for name in sorted(os.listdir(path)):
            if rel == b"" and name in skip:
                continue
            line(os.path.join(path, name), rel + b"/" + name)


line(root, b"")
