#!/usr/bin/python3
"""Makes the odd tree the file-command tests use (names as bytes, so any byte can be in them)."""
import os
import sys

root = os.fsencode(sys.argv[1])


def p(*parts):
    return os.path.join(root, *parts)


def write(path, data, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


write(p(b"etc", b"hostname"), b"base\n")
write(p(b"etc", b"os-release"), b"NAME=odd\n")
os.setxattr(p(b"etc", b"hostname"), b"user.tmount", b"hello")
write(p(b"data", b"with space"), b"spaced\n")
write(p(b"data", b"new\nline"), b"newline\n")
write(p(b"data", b"bad\xff\xfename"), b"not utf-8\n")
write(p(b"data", "caf\u00e9 \u00fc".encode()), b"utf-8\n")
write(p(b"data", b"back\\slash"), b"backslash\n")
write(p(b"data", b"h1"), b"hard link\n")
os.link(p(b"data", b"h1"), p(b"data", b"h2"))
write(p(b"data", b"setuid"), b"#!/bin/sh\n")
os.chown(p(b"data", b"setuid"), 1234, 5678)
os.chmod(p(b"data", b"setuid"), 0o4755)  # after chown, which clears setuid
os.makedirs(p(b"tmp"))
os.chmod(p(b"tmp"), 0o1777)
with open(p(b"data", b"sparse"), "wb") as f:
    f.truncate(64 << 20)
    f.seek(32 << 20)
    f.write(b"x" * 4096)
with open(p(b"data", b"big"), "wb") as f:
    f.write(os.urandom(3 << 20))
os.mknod(p(b"data", b"null"), 0o20666, os.makedev(1, 3))
os.mknod(p(b"data", b"loop0"), 0o60660, os.makedev(7, 0))
os.mkfifo(p(b"data", b"fifo"))
os.makedirs(p(b"links"))
# a chain of 12 links ending at /etc/hostname, which must resolve inside the build
os.symlink(b"/etc/hostname", p(b"links", b"l12"))
for i in range(11, 0, -1):
    os.symlink(b"l%d" % (i + 1), p(b"links", b"l%d" % i))
os.symlink(b"../../../../../../../etc", p(b"links", b"escape"))
os.symlink(b"/etc", p(b"links", b"absolute"))
os.symlink(b"/nonexistent/target", p(b"links", b"dangling"))
deep = p(b"deep")
for i in range(40):
    deep = os.path.join(deep, b"d%d" % i)
write(os.path.join(deep, b"leaf"), b"deep\n")
