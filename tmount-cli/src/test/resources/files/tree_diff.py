#!/usr/bin/python3
"""An independent diff of two host trees: JSON lines of {change, path, what}, as `tmount diff --json` reports."""
import json
import os
import stat
import sys
import hashlib

a_root, b_root = os.fsencode(sys.argv[1]), os.fsencode(sys.argv[2])
skip = {os.fsencode(s) for s in sys.argv[3:]}


def display(name):
    out, i = [], 0
    while i < len(name):
        b = name[i]
        if b >= 0x80:
            for n in (4, 3, 2):
                try:
                    text = name[i:i + n].decode("utf-8")
                    if len(text) == 1 and text.isprintable():
                        out.append(text)
                        i += n
                        break
                except UnicodeDecodeError:
                    pass
            else:
                out.append("\\x%02x" % b)
                i += 1
            continue
        out.append({0x5c: "\\\\", 0x0a: "\\n", 0x09: "\\t"}.get(b, chr(b) if 0x20 <= b < 0x7f else "\\x%02x" % b))
        i += 1
    return "".join(out)


def walk(root):
    entries = {}

    def visit(path, rel):
        st = os.lstat(path)
        entry = {"type": stat.S_IFMT(st.st_mode), "mode": stat.S_IMODE(st.st_mode), "owner": (st.st_uid, st.st_gid),
                 "xattrs": {n: os.getxattr(path, n, follow_symlinks=False)
                            for n in os.listxattr(path, follow_symlinks=False)}}
        if stat.S_ISREG(st.st_mode):
            with open(path, "rb") as f:
                entry["content"] = hashlib.sha256(f.read()).hexdigest()
        elif stat.S_ISLNK(st.st_mode):
            entry["target"] = os.readlink(path)
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            entry["device"] = st.st_rdev
        entries[rel or b"/"] = entry
        if stat.S_ISDIR(st.st_mode):
            for name in os.listdir(path):
                if not rel and name in skip:
                    continue
                visit(os.path.join(path, name), rel + b"/" + name)

    visit(root, b"")
    return entries


a, b = walk(a_root), walk(b_root)
changes = []
for path in sorted(set(a) | set(b)):
    if path not in b:
        changes.append({"change": "removed", "path": display(path), "what": []})
    elif path not in a:
        changes.append({"change": "added", "path": display(path), "what": []})
    else:
        x, y = a[path], b[path]
        what = []
        if x["type"] != y["type"]:
            what.append("type")
        else:
            for key in ("content", "target", "device"):
                if x.get(key) != y.get(key):
                    what.append(key)
        if x["mode"] != y["mode"]:
            what.append("mode")
        if x["owner"] != y["owner"]:
            what.append("owner")
        if x["xattrs"] != y["xattrs"]:
            what.append("xattrs")
        if what:
            changes.append({"change": "changed", "path": display(path), "what": what})
for change in changes:
    print(json.dumps(change, sort_keys=True))
