#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# velactl's bash completion (scripts/system/velactl.bash-completion): commands,
# options, option values, and pool and volume names from a stub velactl (the
# real one needs root and the module).  When velactl is built, also that the
# completion knows every command, alias, option and list field that
# 'velactl help' shows.  Needs no root and no kernel.
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/ktap.sh"
completion=$top/scripts/system/velactl.bash-completion
velactl=$top/userspace/velactl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A velactl that knows two pools, p1 (with vol and ci-1) and p2 (empty).
cat >"$tmp/velactl-stub" <<'EOF'
#!/bin/sh
case "$*" in
"list -H -o pool,name")
	printf 'p1\tvol\np1\tci-1\n' ;;
scan)
	printf '%-20s %-8s %-20s %-20s %s\n' POOL STATE METADATA DATA UUID \
		p1 active /dev/vdb /dev/vdc 7c9e6679-7425-40de-944b-e07fc1f90ae7 \
		p2 inactive /dev/vdd /dev/vde 0b1a8e3c-2f6d-4b8a-9c1e-5d7f3a2b4c6d ;;
*)
	echo "stub velactl: unexpected arguments: $*" >&2
	exit 2 ;;
esac
EOF
# A velactl without root or module: some output, an error, exit 1.
cat >"$tmp/velactl-fail" <<'EOF'
#!/bin/sh
echo "POOL STATE"
echo "p9 active"
echo "velactl: cannot open /dev/mapper/control: Permission denied" >&2
exit 1
EOF
chmod +x "$tmp/velactl-stub" "$tmp/velactl-fail"
: >"$tmp/image.img"
: >"$tmp/image.meta"

# shellcheck source=SCRIPTDIR/../../scripts/system/velactl.bash-completion
. "$completion"

# complete_line WORD...: complete the last WORD of 'WORD...' (the cursor at
# its end).  Sets $got (the candidates, sorted, one a line) and $noise
# (anything the completion printed).
complete_line() {
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_velactl >"$tmp/out" 2>&1
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sort)
	noise=$(cat "$tmp/out")
}

# flat LINES: the lines as one line, for diagnostics.
flat() {
	printf '%s\n' "$1" | tr '\n' ' '
}

# expect DESCRIPTION 'WANT...' WORD...: the candidates are exactly WANT.
expect() {
	local what=$1 want
	# shellcheck disable=SC2086 # WANT is a list of words
	want=$(printf '%s\n' $2 | sort)
	shift 2
	complete_line "$@"
	if [ "$got" != "$want" ]; then
		ktap_fail "$what" "line: '$COMP_LINE'" "want: $(flat "$want")" \
			"got: $(flat "$got")"
	elif [ -n "$noise" ]; then
		ktap_fail "$what" "line: '$COMP_LINE'" "printed: $noise"
	else
		ktap_pass "$what"
	fi
}

# expect_some DESCRIPTION 'WANT...' 'NOT...' WORD...: the candidates include
# every WANT and no NOT.
expect_some() {
	local what=$1 want=$2 not=$3 w missing='' extra=''
	shift 3
	complete_line "$@"
	for w in $want; do
		printf '%s\n' "$got" | grep -qxF -- "$w" || missing="$missing $w"
	done
	for w in $not; do
		printf '%s\n' "$got" | grep -qxF -- "$w" && extra="$extra $w"
	done
	if [ -n "$missing$extra" ]; then
		ktap_fail "$what" "line: '$COMP_LINE'" "missing:$missing" \
			"unwanted:$extra" "got: $(flat "$got")"
	elif [ -n "$noise" ]; then
		ktap_fail "$what" "line: '$COMP_LINE'" "printed: $noise"
	else
		ktap_pass "$what"
	fi
}

commands='help version init create create-branch branch list ls delete remove
	rename resize protect unprotect limit activate deactivate scan status
	extend rename-pool import-clone remove-pool format check dump diff merge repair probe'

ktap_plan 29

if command -v shellcheck >/dev/null; then
	ktap_check "shellcheck -s bash passes" shellcheck -s bash "$completion"
else
	ktap_skip "shellcheck -s bash passes" "shellcheck is not installed"
fi
# shellcheck disable=SC2016 # $1 is for bash -c
ktap_check "it registers _velactl for velactl" \
	bash -c '. "$1" && complete -p velactl | grep -qx "complete -F _velactl velactl"' \
	- "$completion"

expect "an empty first word offers every command and alias" "$commands" velactl ''
expect "the alias branch completes" branch velactl br
expect "-v then a command" "create create-branch" velactl -v cre
expect "a first word with - offers the global options" "--verbose --version" \
	velactl --ver
expect "...--wait and --nowait among them" "--wait" velactl --wa
expect "the command after --wait SECONDS" "create create-branch" velactl --wait 5 cre
expect "a command that locks offers --nowait" "--nowait" velactl delete --now
expect "list takes no lock, so no --nowait" "" velactl list --now
expect_some "create -- offers its options and not delete's" \
	"--size --origin --limit --no-autoactivate --json --help" \
	"--recursive --all --new-fs-uuid" \
	velactl create --
expect_some "check - offers -q, --held and --json" "-q --held --clear-needs-check --json --help" \
	"--recursive" velactl check -
expect "list -o completes the last field of the list" "name,parent name,path" \
	velactl list -o name,pa
expect "list --output=FIELD (split at =) completes fields" name \
	velactl ls --output = na
expect "list -o +FIELD completes after the +" "+name" velactl list -o +na
expect "list -O completes a descending sort key" "name,-exclusive" velactl list -O name,-ex
expect_some "list --units offers lvs's units" "h b s m g H G" "x" velactl list --units ''
expect "--block-size offers block sizes" 64k velactl init p --block-size 6
expect "--metadata offers files" "$tmp/image.img $tmp/image.meta" \
	velactl init p --metadata "$tmp/ima"

export VELACTL_COMPLETION_CMD=$tmp/velactl-stub
expect "delete offers POOL/NAME from velactl list" "p1/vol p1/ci-1" velactl delete ''
expect "an option's value is not a positional argument" "p1/ci-1" \
	velactl create-branch --limit 1G p1/c
expect "status offers the pools from velactl scan" "p1 p2" velactl status ''
expect "list offers the pools and POOL/NAME" "p1 p2 p1/vol p1/ci-1" velactl list ''
expect "create offers POOL/ from velactl scan" "p1/ p2/" velactl create ''
expect "limit's second argument offers none" none velactl limit p1/vol ''
expect "help offers command names" "create create-branch" velactl help cre

export VELACTL_COMPLETION_CMD=$tmp/velactl-fail
expect "a failing velactl: delete offers nothing, silently" '' velactl delete ''
expect "a failing velactl: status offers nothing, silently" '' velactl status ''
unset VELACTL_COMPLETION_CMD

# The completion against velactl's own help: every command and alias, every
# option in each usage line, and list's fields.
if [ -x "$velactl" ]; then
	drift=''
	names=$("$velactl" help | sed -n 's/^  \([a-z-]*\).*/\1/p')
	aliases=$(for c in $names; do "$velactl" help "$c"; done |
		sed -n 's/^Alias: //p')
	complete_line velactl ''
	for c in $names $aliases; do
		printf '%s\n' "$got" | grep -qxF -- "$c" || drift="$drift command:$c"
	done
	for c in $names; do
		complete_line velactl "$c" -
		for o in $("$velactl" help "$c" | sed -n 's/^usage: //p' |
			   grep -oE -- '(^|[][ (|])--?[A-Za-z][a-z-]*' | tr -d '[]()| '); do
			printf '%s\n' "$got" | grep -qxF -- "$o" || drift="$drift $c:$o"
		done
	done
	fields=$("$velactl" help list | sed -n '/^Fields:/,/\./p' |
		 sed 's/^Fields://; s/\..*//')
	complete_line velactl list -o ''
	for f in $fields; do
		printf '%s\n' "$got" | grep -qxF -- "$f" || drift="$drift field:$f"
	done
	if [ -n "$drift" ]; then
		ktap_fail "it knows all that velactl help shows" "missing:$drift"
	else
		ktap_pass "it knows all that velactl help shows"
	fi
else
	ktap_skip "it knows all that velactl help shows" "velactl is not built"
fi
ktap_finish
