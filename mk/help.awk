# make help: the targets whose rule line carries `## [group] text`, demo and test first
# ([start]), then one block per group in the order of the `groups` variable, aligned.
BEGIN {
	FS = ":[^#]*## "
	n = split(groups, order, " ")
	width = 0
}
/^[a-zA-Z0-9_.-]+:[^=]*## / {
	target = $1
	text = $2
	group = "other"
	if (match(text, /^\[[a-z]+\] /)) {
		group = substr(text, 2, RLENGTH - 3)
		text = substr(text, RLENGTH + 1)
	}
	count[group]++
	name[group, count[group]] = target
	desc[group, count[group]] = text
	if (length(target) > width) width = length(target)
}
END {
	print "Usage: make <target>   (demo and test do all set-up on a fresh machine)"
	for (g = 1; g <= n; g++) {
		group = order[g]
		if (!count[group]) continue
		print ""
		if (group != "start") print group ":"
		# demo before test: the order the README gives them.
		for (i = 1; i <= count[group]; i++) {
			if (group == "start" && name[group, i] == "test" && i < count[group]) {
				t = name[group, i]; d = desc[group, i]
				name[group, i] = name[group, i + 1]; desc[group, i] = desc[group, i + 1]
				name[group, i + 1] = t; desc[group, i + 1] = d
			}
			printf "  %-" width "s  %s\n", name[group, i], desc[group, i]
		}
	}
}
