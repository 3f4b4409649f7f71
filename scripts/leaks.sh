#!/usr/bin/env bash
# What a test run must leave as it found it: network namespaces, mounts,
# links, routes, iptables rules and chains, containers, tasks and their
# shims, berth processes.
#
#   scripts/leaks.sh snapshot FILE   record the machine's state in FILE
#   scripts/leaks.sh check FILE      list what is here now and was not in
#                                    FILE; exit 1 if anything
#
# Only additions count: a run may clean up what an earlier one left.
# Containerd namespaces, images and committed snapshots are caches, not
# leaks. Run both as root, with BERTH_TEST_CONTAINERD set as
# scripts/testenv.sh sets it.
set -euo pipefail

state() {
	local f
	for f in /run/netns/*; do
		[[ -e $f ]] && echo "netns $f"
	done
	# Mount points, with how often each is mounted: a mount stacked on
	# an earlier one is a leak too. Hidden ones are listed as well.
	awk '{print "mount " $5 " " $(NF-2)}' /proc/self/mountinfo | sort | uniq -c | awk '{c=$1; $1=""; print substr($0, 2) " x" c}'
	ip -o link show 2>/dev/null | awk -F': ' '{sub(/@.*/, "", $2); print "link " $2}'
	# Link state flags (linkdown) change without anyone leaking anything.
	{ ip -o route show table all; ip -o -6 route show table all; } 2>/dev/null |
		sed -e 's/ linkdown//g' -e 's/ *$//' | sed 's/^/route /'
	local save table
	for save in iptables-save ip6tables-save; do
		command -v "$save" >/dev/null || continue
		# Counters and comments out; chains and rules in.
		"$save" 2>/dev/null | awk -v s="$save" '
			/^\*/ { table = substr($0, 2); next }
			/^:/  { sub(/ \[[0-9]+:[0-9]+\]$/, ""); print s " " table " chain " substr($0, 2); next }
			/^-A/ { print s " " table " " $0 }'
	done
	local sock=${BERTH_TEST_CONTAINERD:-}
	if [[ -n $sock && -S $sock ]]; then
		local ns
		for ns in $(ctr --address "$sock" namespaces ls -q); do
			ctr --address "$sock" -n "$ns" containers ls -q | sed "s|^|container $ns/|"
			ctr --address "$sock" -n "$ns" tasks ls -q | sed "s|^|task $ns/|"
		done
	fi
	# Shims (a task's process outlives its container when it leaks) and
	# berth processes (daemons a test started), without their pids.
	# A zombie (state Z, "<defunct>") is a process already gone, waiting
	# for its parent (often PID 1, for a shim's intermediate fork) to
	# reap it: it holds nothing, and its reaping is not the run's to do.
	ps -eo stat=,comm=,args= | awk '$1 !~ /^Z/ && ($2 ~ /^containerd-shim/ || $2 == "berth") { $1 = ""; $2 = ""; sub(/^ +/, ""); print "process " $0 }'
}

case ${1:-} in
snapshot)
	[[ -n ${2:-} ]] || { echo "usage: $0 snapshot FILE" >&2; exit 2; }
	state | sort >"$2"
	;;
check)
	[[ -n ${2:-} && -r ${2:-} ]] || { echo "usage: $0 check FILE (a snapshot)" >&2; exit 2; }
	now=$(mktemp)
	trap 'rm -f "$now"' EXIT
	state | sort >"$now"
	left=$(comm -13 "$2" "$now")
	if [[ -n $left ]]; then
		echo "leaks.sh: the run left these behind (not there before it):" >&2
		echo "$left" | sed 's/^/  /' >&2
		exit 1
	fi
	echo "leaks.sh: nothing left behind" >&2
	;;
*)
	echo "usage: $0 snapshot|check FILE" >&2
	exit 2
	;;
esac
