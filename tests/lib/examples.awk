# SPDX-License-Identifier: GPL-2.0-only
#
# The examples of a document, as steps a test runs: "B N" opens the Nth
# example block, "C COMMAND" is a command (continuation lines joined) and
# "O LINE" a line of the output the document shows for the command before
# it.  doc=man reads the .nf/.fi blocks of velactl(8)'s EXAMPLES section,
# where a command is a line with the "# " prompt and a block without any
# prompt is all commands; doc=md reads the first fenced block after the
# heading "## Using velactl" of README.md, all commands.  Placeholder lines
# ("...") are skipped.

function unroff(s,	i) {
	gsub(/\\\(aq/, "'", s)
	gsub(/\\\(ga/, "`", s)
	gsub(/\\\(dq/, "\"", s)
	gsub(/\\&/, "", s)
	gsub(/\\-/, "-", s)
	# A loop, not gsub: awks disagree on backslashes in a replacement.
	while ((i = index(s, "\\e")) > 0)
		s = substr(s, 1, i - 1) "\\" substr(s, i + 2)
	return s
}

function flush_block(	i, line, prompted, cmd) {
	prompted = 0
	for (i = 1; i <= n; i++)
		if (lines[i] ~ /^# /)
			prompted = 1
	print "B " ++blocks
	cmd = ""
	for (i = 1; i <= n; i++) {
		line = lines[i]
		if (cmd != "") {
			sub(/^[ \t]+/, "", line)
			cmd = cmd " " line
		} else if (prompted && line !~ /^# /) {
			print "O " line
			continue
		} else {
			if (prompted)
				line = substr(line, 3)
			if (line ~ /^\.\.\./)
				continue
			cmd = line
		}
		if (cmd ~ /\\$/) {
			sub(/[ \t]*\\$/, "", cmd)
			continue
		}
		print "C " cmd
		cmd = ""
	}
	n = 0
}

doc == "man" && /^\.SH / { in_section = ($0 == ".SH EXAMPLES"); next }
doc == "man" && in_section && $0 == ".nf" { in_block = 1; next }
doc == "man" && in_section && $0 == ".fi" { in_block = 0; flush_block(); next }
doc == "man" && in_block { lines[++n] = unroff($0); next }

doc == "md" && /^## / { in_section = ($0 == "## Using velactl"); next }
doc == "md" && in_section && /^```/ {
	if (in_block) {
		flush_block()
		in_section = 0
	}
	in_block = !in_block
	next
}
doc == "md" && in_block { lines[++n] = $0; next }
