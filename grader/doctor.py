"""``grader doctor``: what this machine gives the sandbox, and what to do
about each missing piece, before a batch finds out."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
from dataclasses import dataclass

from grader import devices
from grader.sandbox.guest import confine
from grader.sandbox.host.client import isolation_level
from grader.sandbox.host.limits import CGROUP_ROOT, Cgroup, Limits, delegated_v2

DELEGATE = (
    "on a cgroup v2 machine, run the grader in a delegated scope: "
    "`systemd-run --user --scope -p Delegate=yes grader grade ...` "
    "(systemd delegates memory and pids to user sessions by default; for cpu too, "
    "add `Delegate=memory pids cpu` under [Service] with `systemctl edit user@.service`)"
)

WATCHDOG_GAPS = (
    "the memory watchdog caps memory, but cannot count socket buffers or System V shared "
    "memory, and stops a spike only when it lasts one of its polls (0.2 s)"
)
"""what a sandbox without a cgroup may use that the watchdog does not see
(docs/admin/threat-model.md's table of guarantees by isolation level)"""


@dataclass(frozen=True)
class Finding:
    """One line of the report: what was checked, what was found, what to do."""

    name: str
    found: str
    fix: str = ""
    """"" when nothing is missing"""


def examine() -> list[Finding]:
    """Everything ``grader doctor`` reports, in order."""
    root = confine.is_host_root()
    problem = confine.probe()
    user = "root" if root else f"a normal user (uid {os.geteuid()})"
    findings = [
        Finding(
            "grader runs as",
            user,
            ""
            if not root
            else "works; running as a normal user is recommended (see docs/admin/threat-model.md)",
        )
    ]
    if root:
        found = "available" if not problem else f"unavailable: {problem}"
        findings.append(Finding("namespaces", found, "" if not problem else _namespace_fix()))
    else:
        found = "available (unprivileged)" if not problem else f"unavailable: {problem}"
        findings.append(Finding("user namespaces", found, "" if not problem else _namespace_fix()))
    cgroup = Cgroup.create(f"doctor-{os.getpid()}", Limits())
    findings.append(_cgroups(cgroup, root))
    if cgroup is not None:
        cgroup.remove()
    gpus = devices.detect_gpus()
    findings.append(Finding("GPUs", ", ".join(f"gpu{g}" for g in gpus) if gpus else "none"))
    findings.append(Finding("Python", platform.python_version()))
    installed = importlib.metadata.packages_distributions()
    for module, name in (("tensorflow", "TensorFlow"), ("keras", "Keras")):
        # the distribution's name varies (tensorflow, tensorflow-cpu, ...); read without importing
        providers = installed.get(module, [])
        if providers:
            findings.append(Finding(name, importlib.metadata.version(providers[0])))
        else:
            findings.append(Finding(name, "not installed", "run `make grade` or `make test`"))
    drop_uid = bool(problem) and confine.can_drop_to_sandbox_user()
    level = isolation_level(isolated=not problem, cgroup=cgroup, drop_uid=drop_uid)
    findings.append(
        Finding(
            "isolation",
            level,
            "" if not problem else "`grade --require-isolation` refuses to grade here",
        )
    )
    return findings


def _namespace_fix() -> str:
    return (
        "grading still works, without namespaces; fix the cause above, or run the grader "
        "as root (it then drops to nobody in each sandbox)"
    )


def _cgroups(cgroup: Cgroup | None, root: bool) -> Finding:
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        version = "v2"
        with contextlib.suppress(OSError):
            if delegated_v2() is not None and not root:
                version = "v2, a subtree delegated to this user"
    elif (CGROUP_ROOT / "memory").is_dir():
        version = "v1"
    else:
        return Finding("cgroups", "none mounted", WATCHDOG_GAPS + "; CPU is not capped")
    if cgroup is not None:
        cpu = "memory, processes and CPU" if cgroup.cpu is not None else "memory and processes"
        return Finding("cgroups", f"{version}, writable: caps {cpu}")
    fix = WATCHDOG_GAPS + "; a per-namespace limit caps processes; CPU is not capped "
    fix += "(deadlines count CPU time). A cgroup closes all of this: " + (
        DELEGATE if version.startswith("v2") else "cgroup v1 lets only root create groups"
    )
    return Finding("cgroups", f"{version}, not writable by this user", fix)


def report() -> str:
    """The findings as aligned text lines."""
    lines = []
    for finding in examine():
        lines.append(f"{finding.name + ':':<17} {finding.found}")
        if finding.fix:
            lines.append(f"{'':<17} -> {finding.fix}")
    return "\n".join(lines)
