#!/usr/bin/env bash
# scripts/checksrc.sh: the project's source rules that a compiler cannot see.
#   - core/ stays pure: no I/O, network, database, thread or clock headers,
#     no printf-family output, no malloc/free, no clock or environment reads,
#     no rand, no exit/abort;
#   - nowhere: sprintf, strcpy, strcat, strtok, atoi/atol, gmtime/localtime
#     (use the _r forms), setlocale;
#   - only /* */ comments in C files.
# Exits 1 and names file:line for every violation.
set -uo pipefail
cd "$(dirname "$0")/.."
bad=0
report() { echo "checksrc: $1"; bad=1; }

core_inc='#include *[<"](curl/|libwebsockets|librdkafka/|sqlite3|uv\.h|pthread|msgpack|unistd\.h|sys/|time\.h|fcntl\.h|netinet/|arpa/|threads\.h|signal\.h)'
while IFS= read -r hit; do report "core must stay pure: $hit"; done < <(
    grep -nE "$core_inc" core/*.c core/*.h)
core_fn='\b(printf|fprintf|puts|fputs|putchar|fopen|fwrite|fread|malloc|calloc|realloc|free|time|clock_gettime|gettimeofday|getenv|rand|srand|exit|abort|sleep|usleep)\s*\('
while IFS= read -r hit; do report "core must stay pure: $hit"; done < <(
    grep -nE "$core_fn" core/*.c core/*.h | grep -vE '^\S+:\s*/?\*')
banned='\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|atoll|gmtime|localtime|setlocale)\s*\('
while IFS= read -r hit; do report "banned function: $hit"; done < <(
    git ls-files '*.c' '*.h' | xargs grep -nE "$banned" | grep -vE '^\S+:\s*/?\*')
while IFS= read -r hit; do report "use /* */ comments: $hit"; done < <(
    git ls-files '*.c' '*.h' | xargs grep -nE '^\s*//|;\s*//' )
if [ $bad -eq 0 ]; then
    echo "checksrc: ok ($(git ls-files '*.c' '*.h' | wc -l) files)"
fi
exit $bad
