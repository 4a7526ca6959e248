#!/usr/bin/env bash
# Accuracy on every shared data set with issue 14's protocol (bench/accuracy_core):
# one JSON line per (data set, algorithm, parameters): nDCG@10 and recall@20.
# Usage: bench/accuracy.sh [section ...]   sections: bpr als itemknn dense defaults (default: bpr als)
#   defaults: every algorithm at its defaults, also on synthetic data of
#   controlled shape (bench/synthetic_pairs.py: long-tail, dense ones, tiny).
#   dense: on the dense synthetic sets, the dense-data defaults (data_shape.h)
#   against the declared ones they replace.
# Needs ../shared/data; builds build/bench_accuracy_core.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
[ -d "$DATA" ] || { echo '{"bench": "accuracy", "skipped": "no ../shared/data"}'; exit 0; }
cmake --build build -j2 --target bench_accuracy_core >/dev/null
B=build/bench_accuracy_core
SETS=${SETS:-"online-retail online-retail-ii complete-journey clickstream"}
tmp=$(mktemp -d /tmp/recsys-accuracy.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for d in $SETS; do bench/pairs.py "$d" "$DATA" > "$tmp/$d.csv"; done
SYNTHETIC=${SYNTHETIC-"long-tail dense dense-2k dense-6k dense-6k-steep dense-flat tiny"}
for d in $SYNTHETIC; do bench/synthetic_pairs.py "$d" > "$tmp/$d.csv"; done
sections=${*:-bpr als}
for s in $sections; do
    sets=$SETS
    [ "$s" = defaults ] && sets="$SETS $SYNTHETIC"
    [ "$s" = dense ] && sets=$(printf '%s\n' $SYNTHETIC | grep -E '^(dense|tiny)' | tr '\n' ' ')
    for d in $sets; do
        case $s in
        defaults)
            for a in popularity itemknn rp3beta ease als bpr; do $B "$tmp/$d.csv" "$d" $a '{}'; done ;;
        bpr)
            $B "$tmp/$d.csv" "$d" popularity '{}'
            $B "$tmp/$d.csv" "$d" als '{}'
            $B "$tmp/$d.csv" "$d" bpr '{}' '{"negative_sampling": "uniform"}' \
                '{"negative_sampling": "uniform", "learning_rate": 0.01, "regularization": 0.01}' \
                '{"popularity_exponent": 0.5}' '{"popularity_exponent": 1}' ;;
        itemknn)  # the defaults (sparse rule) against the variants it chooses between
            $B "$tmp/$d.csv" "$d" popularity '{}'
            $B "$tmp/$d.csv" "$d" itemknn '{}' '{"weighting": "bm25", "shrinkage": 0, "neighbours": 10}' \
                '{"weighting": "none", "shrinkage": 0, "neighbours": 10}' \
                '{"weighting": "none", "shrinkage": 100, "neighbours": 100}' ;;
        dense)  # the declared defaults the dense rule replaces, and its neighbours
            $B "$tmp/$d.csv" "$d" popularity '{}'
            $B "$tmp/$d.csv" "$d" itemknn '{}' '{"bm25_b": 0.75}' '{"weighting": "bm25", "neighbours": 100, "bm25_b": 0.75}' \
                '{"weighting": "none"}' '{"weighting": "none", "neighbours": 100, "shrinkage": 100}'
            $B "$tmp/$d.csv" "$d" ease '{}' '{"lambda": 100}' '{"lambda": 1000}'
            $B "$tmp/$d.csv" "$d" als '{}' '{"regularization": 10}' '{"regularization": 50}' '{"regularization": 100}' \
                '{"factors": 32, "regularization": 10}'
            $B "$tmp/$d.csv" "$d" bpr '{}' '{"regularization": 0.001}' '{"regularization": 0.01}' \
                '{"regularization": 0.1}' '{"negative_sampling": "uniform", "regularization": 0.001}' ;;
        als)  # frequency-scaled regularisation: nu x alpha x lambda
            [ "$d" = online-retail ] || [ "$d" = complete-journey ] || continue
            grid=()
            for nu in 0 0.5 1; do for a in 1 10; do for l in 3 10 30; do
                grid+=("{\"regularization_exponent\": $nu, \"alpha\": $a, \"regularization\": $l}")
            done; done; done
            $B "$tmp/$d.csv" "$d" als "${grid[@]}" ;;
        esac
    done
done
