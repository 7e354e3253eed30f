# Shared by the benchmark scripts: put one script's section into docs/benchmarks.md, replacing its previous
# section (between <!-- NAME --> and <!-- /NAME -->) and keeping the others.
write_section() { # name section-file doc
  local name="$1" section="$2" doc="$3"
  [[ -f "$doc" ]] || printf '# tmount benchmarks\n\nEach section is written by the script it names; rerun a script to refresh its section.\n' >"$doc"
  if grep -q "<!-- $name -->" "$doc"; then
    awk -v section="$section" -v opening="<!-- $name -->" -v closing="<!-- /$name -->" '
      $0 == opening {while ((getline line < section) > 0) print line; skip = 1; next}
      $0 == closing {skip = 0; next}
      !skip' "$doc" >"$doc.new" && mv "$doc.new" "$doc"
  else
    { echo; cat "$section"; } >>"$doc"
  fi
}

machine_line() {
  echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); $(nproc) cores; $(free -g | awk '/Mem:/ {print $2}') GiB; kernel $(uname -r); $(. /etc/os-release && echo "$PRETTY_NAME")"
}
