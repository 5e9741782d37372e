#!/usr/bin/env bash
# Generates, from the built program's own help (which `mpct` prints from its
# command and option tables), the bash completion script and the help2man
# include with one section per command.
#   mpct_help_files.sh MPCT COMPLETION_OUT H2M_OUT
# Commands are the lines "  NAME  [*] summary" of `mpct --help`; a command's
# flags are the "--name" words that start the option lines of `mpct NAME
# --help` (the MPI commands run as singletons). Fails when a help fails.
set -euo pipefail
mpct=$1 comp=$2 h2m=$3
export OMPI_MCA_btl=self OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cmds=$("$mpct" --help | sed -n '/^commands:/,/^$/p' | awk 'NF >= 2 && $1 ~ /^[a-z]+$/ { print $1 }')
[ -n "$cmds" ] || { echo "mpct_help_files: no commands in '$mpct --help'" >&2; exit 1; }
{
  echo "# bash completion for mpct: commands and each command's flags, generated at build time"
  echo "# from mpct --help and mpct COMMAND --help (cmake/mpct_help_files.sh). Values: file names."
  echo "_mpct() {"
  echo '  local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]:-} opts'
  echo '  if [ "$COMP_CWORD" -eq 1 ]; then'
  echo "    COMPREPLY=(\$(compgen -W \"$(echo $cmds) help --help --version\" -- \"\$cur\")); return"
  echo '  fi'
  echo '  case $cmd in'
  for c in $cmds; do
    flags=$("$mpct" "$c" --help </dev/null | grep -oE '^  +(-[a-zA-Z], )?--[a-z0-9][a-z0-9-]*' | grep -oE -- '--[a-z0-9-]+' | sort -u | xargs)
    echo "    $c) opts=\"$flags --help\" ;;"
  done
  echo "    help) COMPREPLY=(\$(compgen -W \"$(echo $cmds)\" -- \"\$cur\")); return ;;"
  echo '    *) opts="--help" ;;'
  echo '  esac'
  echo '  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi'
  echo "}"
  echo "complete -o filenames -o bashdefault -F _mpct mpct"
} > "$comp.tmp"
mv -f "$comp.tmp" "$comp"
{
  echo "[COMMANDS]"
  for c in $cmds; do
    echo ".SS mpct $c"
    echo ".nf"
    "$mpct" "$c" --help </dev/null | sed -e 's/\\/\\e/g' -e 's/^\./\\\&./'
    echo ".fi"
  done
  echo "[SEE ALSO]"
  echo "The README.md and the documents it lists (docs/, io/OUTPUT.md, perf/REPORT.md, slurm/README.md),"
  echo "installed under share/doc/mpct."
} > "$h2m.tmp"
mv -f "$h2m.tmp" "$h2m"
