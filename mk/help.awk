# `make help`: the targets described with "## " grouped under the "##@ topic" line above them
# (a topic met again in another file gathers there too), each $(VARIABLE) as make expands it
# (the Makefile passes those in the environment).
/^##@ / {
    topic = substr($0, 5)
    if (!(topic in seen)) { seen[topic] = 1; order[++topics] = topic }
    next
}
/^[a-z-]+:.*## / {
    name = $0; sub(/:.*/, "", name)
    text = $0; sub(/^[^#]*## /, "", text)
    while (match(text, /\$\([A-Z_]+\)/)) {
        text = substr(text, 1, RSTART - 1) ENVIRON[substr(text, RSTART + 2, RLENGTH - 3)] substr(text, RSTART + RLENGTH)
    }
    body[topic] = body[topic] sprintf("  %-18s %s\n", name, text)
}
END {
    for (i = 1; i <= topics; i++) printf "%s%s:\n%s", (i > 1 ? "\n" : ""), order[i], body[order[i]]
}
