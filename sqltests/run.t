#!/usr/bin/env bash
# Run every sqltests/*.sql through the stock sqlite3 shell and the sqlcipher
# shell and compare the output with the expected file. Emits TAP for prove.
#
# Each run gets a fresh root folder sqltests/tmp/<name>-<shell> in
# TENANT_ROOT, a fixed test master key, and the repository as working
# directory, so scripts load the extension with `.load build/tenant` (a
# TENANT_EXT set in the environment replaces that path). The output, stdout
# and stderr together, is normalised before the comparison:
#   - the root folder is printed as <root>, the repository as <repo>;
#   - the error lines of SQLite 3.40's shell ("Parse error near line N: m"
#     and "Runtime error near line N: m (code)") take the form of older
#     shells: "Error: near line N: m", and the two lines that point at the
#     error in the SQL text ("  <sql>", then a caret and "error here") go.
# The expected output is sqltests/<name>.<shell>.expected when that file
# exists, else sqltests/<name>.expected. A mismatch prints a unified diff.
#
# SQLTESTS_UPDATE=1 writes the expected files from the actual output
# instead: one <name>.expected when both shells agree, one per shell when
# they differ. Read every file it writes before keeping it.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
repo=$PWD
ext=${TENANT_EXT:-$repo/build/tenant}
shells=(sqlite3 sqlcipher)
scripts=(sqltests/*.sql)
tmp=$repo/sqltests/tmp
test_master_key=sqltests-master-key-0123456789abcdefghij

mkdir -p "$tmp"
echo "1..$(( ${#scripts[@]} * ${#shells[@]} ))"

# Print the normalised output of one script in one shell.
run_script() {
    local shell=$1 script=$2 root=$3
    sed -e "s|^\.load build/tenant\$|.load $ext|" "$script" |
        env -u TENANT_KEY_FILE \
            TENANT_ROOT="$root" TENANT_MASTER_KEY="$test_master_key" \
            timeout 300 "$shell" -batch 2>&1 |
        sed -E -e "s|$root|<root>|g" -e "s|$repo|<repo>|g" \
            -e 's/^(Parse|Runtime) error near line ([0-9]+): (.*) \([0-9]+\)$/Error: near line \2: \3/' \
            -e 's/^(Parse|Runtime) error near line ([0-9]+): /Error: near line \2: /' |
        awk '/^ *(error here ---\^|\^--- error here)$/ { held = 0; next }
             held { print prev }
             { prev = $0; held = 1 }
             END { if (held) print prev }'
}

n=0
failed=0
for script in "${scripts[@]}"; do
    name=$(basename "$script" .sql)
    for shell in "${shells[@]}"; do
        n=$((n + 1))
        if ! command -v "$shell" >/dev/null 2>&1; then
            echo "ok $n # skip $shell shell not installed"
            continue
        fi

        root=$tmp/$name-$shell
        rm -rf "$root"
        mkdir -p "$root"
        actual=$tmp/$name.$shell.out
        run_script "$shell" "$script" "$root" > "$actual"

        if [ -n "${SQLTESTS_UPDATE:-}" ]; then
            echo "ok $n - $name in $shell # output written to $actual"
            continue
        fi

        expected=sqltests/$name.$shell.expected
        [ -f "$expected" ] || expected=sqltests/$name.expected
        if [ ! -f "$expected" ]; then
            echo "not ok $n - $name in $shell"
            echo "# missing expected output: $expected (see SQLTESTS_UPDATE)"
            failed=$((failed + 1))
        elif diff -u "$expected" "$actual" > "$actual.diff"; then
            echo "ok $n - $name in $shell"
        else
            echo "not ok $n - $name in $shell"
            sed -e 's/^/# /' "$actual.diff"
            failed=$((failed + 1))
        fi
    done
done

# Write the expected files from the outputs just made.
if [ -n "${SQLTESTS_UPDATE:-}" ]; then
    for script in "${scripts[@]}"; do
        name=$(basename "$script" .sql)
        one=$tmp/$name.${shells[0]}.out
        two=$tmp/$name.${shells[1]}.out
        rm -f "sqltests/$name.expected" "sqltests/$name".*.expected
        if [ -f "$one" ] && [ -f "$two" ] && cmp -s "$one" "$two"; then
            cp "$one" "sqltests/$name.expected"
        else
            for shell in "${shells[@]}"; do
                out=$tmp/$name.$shell.out
                [ -f "$out" ] && cp "$out" "sqltests/$name.$shell.expected"
            done
        fi
    done
    echo "# expected files written: read each one before keeping it"
fi

exit "$failed"
