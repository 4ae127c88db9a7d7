# Prints a CSV file without its timing and run-id columns (headers run_id, *runtime*,
# *elapsed*), one field per line group, so two runs can be compared with diff. Fields are
# split by RFC 4180 rules (quoted fields may hold commas and doubled quotes); no field of
# these files spans lines.
function split_csv(line, out,    n, i, c, field, quoted) {
    n = 0; field = ""; quoted = 0
    for (i = 1; i <= length(line); i++) {
        c = substr(line, i, 1)
        if (quoted) {
            if (c == "\"") {
                if (substr(line, i + 1, 1) == "\"") { field = field c; i++ }
                else quoted = 0
            } else field = field c
        } else if (c == "\"") quoted = 1
        else if (c == ",") { out[++n] = field; field = "" }
        else field = field c
    }
    out[++n] = field
    return n
}
{
    sub(/\r$/, "")
    n = split_csv($0, f)
    if (NR == 1) for (i = 1; i <= n; i++) drop[i] = (f[i] == "run_id" || f[i] ~ /runtime|elapsed/)
    row = ""
    for (i = 1; i <= n; i++) if (!drop[i]) row = row "\t" f[i]
    print row
}
