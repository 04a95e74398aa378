# Flatten a JSON document into one line per scalar value: "<path><TAB><value>".
#
# Paths join object keys and array indexes with "/", so Nova's meta_data.json becomes
#   /uuid            6f1c...
#   /hostname        vm-1
#   /public_keys/k1  ssh-ed25519 AAAA... user@host
#   /keys/0/name     k1
# String escapes are decoded; \n, \r and \t become spaces so that every value stays on its
# line (Nova ends generated ssh keys with "\n"), and \uXXXX becomes "?". Numbers, true,
# false and null are printed as written. Meant for the metadata documents a cloud writes,
# not a validating parser: on malformed input it stops early rather than loop.
#
# Busybox awk: whole document in `doc`, one cursor `pos`, recursive descent.

{ doc = doc $0 "\n" }

END {
    pos = 1
    parse_value("")
}

function skip_space(    c) {
    while ((c = substr(doc, pos, 1)) != "" && index(" \t\r\n", c))
        pos++
}

function parse_value(path,    c, n) {
    skip_space()
    c = substr(doc, pos, 1)
    if (c == "{") {
        parse_object(path)
    } else if (c == "[") {
        parse_array(path)
    } else if (c == "\"") {
        print path "\t" parse_string()
    } else {
        # A number, true, false or null: everything up to the next delimiter.
        n = match(substr(doc, pos), /[],} \t\r\n]/)
        if (n == 0)
            n = length(doc) - pos + 2
        print path "\t" substr(doc, pos, n - 1)
        pos += n - 1
    }
}

function parse_object(path,    key) {
    pos++                                       # "{"
    skip_space()
    if (substr(doc, pos, 1) == "}") {
        pos++
        return
    }
    while (1) {
        skip_space()
        key = parse_string()
        skip_space()
        pos++                                   # ":"
        parse_value(path "/" key)
        skip_space()
        if (substr(doc, pos++, 1) != ",")       # "}" (or garbage) ends the object
            return
    }
}

function parse_array(path,    i) {
    pos++                                       # "["
    skip_space()
    if (substr(doc, pos, 1) == "]") {
        pos++
        return
    }
    for (i = 0; ; i++) {
        parse_value(path "/" i)
        skip_space()
        if (substr(doc, pos++, 1) != ",")       # "]" (or garbage) ends the array
            return
    }
}

function parse_string(    out, rest, n, c) {
    pos++                                       # opening quote
    out = ""
    while (1) {
        rest = substr(doc, pos)
        n = match(rest, /["\\]/)
        if (n == 0) {                           # unterminated: keep what there is
            pos = length(doc) + 1
            return out
        }
        out = out substr(rest, 1, n - 1)
        pos += n
        if (substr(rest, n, 1) == "\"")
            return out
        c = substr(doc, pos++, 1)               # the escaped character
        if (c == "n" || c == "r" || c == "t")
            out = out " "
        else if (c == "u") {
            out = out "?"
            pos += 4
        } else if (c != "b" && c != "f")
            out = out c                         # \" \\ \/
    }
}
