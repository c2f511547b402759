#!/usr/bin/env bash
# Grade students' repositories with the hidden suite: the one script the
# course-side workflows run (GitHub Actions: ci-templates/github/course-grade.yml;
# GitLab CI: ci-templates/gitlab/.gitlab-ci.yml). It runs in the course's own
# repository, which students cannot change; never in a student's.
#
# Environment (the workflows set these; tests/test_ci_flow.py sets the same):
#   ASSIGNMENT           required: the assignment to grade, e.g. 01_tensors
#   GITHUB_WORKSPACE     the course's checkout (GitLab: CI_PROJECT_DIR; else the
#                        current folder); it holds solutions/ and .venv/
#   SUBMISSIONS_DIR      one checkout per student, named by the student's id
#                        (default: WORKSPACE/submissions); clones this job made,
#                        never a student's own .git unpacked from an archive:
#                        git runs what a repository's config names
#   STUDENT              in a job per student: the folder expected there; made
#                        empty when the checkout failed (an empty repository)
#   OUT_DIR              reports/, junit/ and summary.md go here (default: WORKSPACE/out)
#   GITHUB_STEP_SUMMARY  the summary table is appended here (default: OUT_DIR/summary.md)
#   FAIL_UNDER           a percentage: exit 3 when a student scores under it
#   FEEDBACK_BRANCH      when set, commit each student's report.html and JUnit
#                        XML to ASSIGNMENT/ on this branch of their repository
#                        and push it (with the checkout's credentials)
#   GRADER               the grader command (default: WORKSPACE/.venv/bin/grader)
#   SUBMITTED_AT         in a job per student: when the platform received the push
#                        being graded (ISO 8601), from the platform, never from the
#                        student's commit (GitHub: the push's time from the API or
#                        the course's repository_dispatch; GitLab: the creation time
#                        of a pipeline the course's relay triggered on the push)
#   MANIFEST             a submissions manifest the course made (columns student,
#                        submitted_at); outranks SUBMITTED_AT
#
# The late policy counts from these times only: commit dates are the student's
# to choose, so the grader is never asked to trust them here.
#
# Exit status: the grader's. 0 whatever the students scored; 3 when FAIL_UNDER
# is set and a student scored under it; 1 when the grader failed on a
# submission or feedback could not be pushed; 2 for a usage or course error (nothing was graded).
set -euo pipefail

: "${ASSIGNMENT:?set ASSIGNMENT to the assignment to grade, e.g. 01_tensors}"
workspace="${GITHUB_WORKSPACE:-${CI_PROJECT_DIR:-$PWD}}"
submissions="${SUBMISSIONS_DIR:-$workspace/submissions}"
out="${OUT_DIR:-$workspace/out}"
summary="${GITHUB_STEP_SUMMARY:-$out/summary.md}"
read -r -a grader <<<"${GRADER:-$workspace/.venv/bin/grader}"

warn() {
    if [ "${GITHUB_ACTIONS:-}" = true ]; then
        echo "::warning::$1"
    else
        echo "warning: $1" >&2
    fi
}

if [ -n "${STUDENT:-}" ] && [ ! -d "$submissions/$STUDENT" ]; then
    warn "$STUDENT: no checkout of their repository (not found, or empty); graded as no notebook"
    mkdir -p "$submissions/$STUDENT"
fi
if [ ! -d "$submissions" ] || [ -z "$(ls -A "$submissions")" ]; then
    echo "error: no student checkouts in $submissions/: check out each student's repository into $submissions/STUDENT" >&2
    exit 2
fi
for repo in "$submissions"/*/; do
    name=$(basename "$repo")
    if [ -e "$repo/.git" ] && ! git -C "$repo" rev-parse --verify --quiet HEAD >/dev/null; then
        warn "$name: their repository has no commits yet, so there is no notebook to grade"
    fi
done

if [ -z "${SUBMITTED_AT:-}" ] && [ "${CI_PIPELINE_SOURCE:-}" = trigger ]; then
    SUBMITTED_AT="${CI_PIPELINE_CREATED_AT:-}" # GitLab: the course's relay triggered it on the push
fi
args=(--root "$workspace" grade "$ASSIGNMENT" "$submissions" --out "$out/reports"
    --require-isolation --junit "$out/junit" --summary-md "$summary")
if [ -n "${MANIFEST:-}" ]; then
    args+=(--manifest "$MANIFEST")
elif [ -n "${SUBMITTED_AT:-}" ]; then
    if [ -z "${STUDENT:-}" ]; then
        echo "error: SUBMITTED_AT is the time of one student's push: set STUDENT too, or give MANIFEST" >&2
        exit 2
    fi
    mkdir -p "$out"
    printf 'student,submitted_at\n%s,%s\n' "$STUDENT" "$SUBMITTED_AT" >"$out/manifest.csv"
    args+=(--manifest "$out/manifest.csv")
fi
if [ -n "${FAIL_UNDER:-}" ]; then
    args+=(--fail-under "$FAIL_UNDER")
fi
status=0
"${grader[@]}" "${args[@]}" || status=$?
if [ "$status" = 2 ] || [ -z "${FEEDBACK_BRANCH:-}" ]; then
    exit "$status"
fi

# Feedback (its messages go to stderr, so the grader's "Points X/Y" stays the
# last line on stdout): a commit on FEEDBACK_BRANCH holding only what the student may see
# (report.html and the JUnit XML follow the visibility rules; the full
# results, under reports/staff/, stay in the course's artifacts). It is built with a
# temporary index, so the student's own branches and files are never touched.
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-tfgrade}" GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-tfgrade@localhost}"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
for repo in "$submissions"/*/; do
    name=$(basename "$repo")
    report="$out/reports/$ASSIGNMENT/$name/report.html"
    if [ ! -e "$repo/.git" ] || [ ! -f "$report" ]; then
        echo "warning: $name: no feedback posted (no git checkout, or no report under that name)" >&2
        continue
    fi
    files=$(mktemp -d)
    mkdir "$files/$ASSIGNMENT"
    cp "$report" "$files/$ASSIGNMENT/report.html"
    cp "$out/junit/$name.xml" "$files/$ASSIGNMENT/junit.xml"
    parent=()
    if git -C "$repo" fetch --quiet origin "refs/heads/$FEEDBACK_BRANCH" 2>/dev/null; then
        parent=(-p "$(git -C "$repo" rev-parse FETCH_HEAD)")
    fi
    graded=$(git -C "$repo" rev-parse --short --verify --quiet HEAD || echo "an empty repository")
    export GIT_INDEX_FILE="$files.index"
    if [ ${#parent[@]} -gt 0 ]; then
        git -C "$repo" read-tree "${parent[1]}"
    else
        git -C "$repo" read-tree --empty
    fi
    git -C "$repo" --work-tree="$files" add --all -- "$ASSIGNMENT"
    tree=$(git -C "$repo" write-tree)
    commit=$(git -C "$repo" commit-tree "$tree" "${parent[@]}" -m "Feedback on $ASSIGNMENT for $graded")
    unset GIT_INDEX_FILE
    if git -C "$repo" push --quiet origin "$commit:refs/heads/$FEEDBACK_BRANCH"; then
        echo "$name: feedback pushed to their branch $FEEDBACK_BRANCH" >&2
    else
        echo "warning: $name: could not push feedback to their repository (may the token write to it?)" >&2
        [ "$status" != 0 ] || status=1
    fi
    rm -rf "$files" "$files.index"
done
exit "$status"
