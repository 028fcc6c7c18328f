"""Issue 12, class 1 (reading): files are read up to the cap only, and only regular files.

FIFOs would block forever, /dev/zero and /dev/urandom never end, a sparse file reports any size:
every reader (specs, space files and their ``extends``, lock files and the specs they name, and
netcalc.load_spec) refuses them at once, without blocking and without reading past 5 MiB.
"""
import os


from hostile_harness import Case, corpus_module

REGNET = "family: regnet\ndepth: 13\nw0: 24\nwa: 36.44\nwm: 2.49\ngroup_w: 8\n"
CAP = 5 * 1024 * 1024


def make_files(d):
    """The hostile files, all cheap to make: FIFOs, a directory, sparse and oversized files."""
    for name in ("fifo.yaml", "fifo.json", "fifo.lock", "fifo_space.yaml"):
        os.mkfifo(d / name)
    (d / "dir.yaml").mkdir()
    with open(d / "sparse.yaml", "wb") as handle:      # 7 GiB by stat, no disk used
        handle.truncate(7 << 30)
    (d / "over.yaml").write_text(REGNET + "#" * CAP)
    (d / "at_cap.yaml").write_text(REGNET + "#" * (CAP - len(REGNET) - 1) + "\n")
    (d / "over.lock").write_text("{" + " " * CAP + "}")
    (d / "binary.yaml").write_bytes(b"\xff\xfe\x00\x01" * 100)
    os.symlink("/dev/zero", d / "zero_link.yaml")
    os.symlink(d / "fifo.yaml", d / "fifo_link.yaml")
    os.symlink(d / "sparse.yaml", d / "sparse_link.yaml")
    (d / "ok.yaml").write_text(REGNET)
    (d / "secret.txt").write_text("sk-live-THE-SECRET-TOKEN-1234567890\n")
    (d / "extends_fifo.yaml").write_text("extends: fifo_space.yaml\nname: x\n")
    (d / "extends_zero.yaml").write_text("extends: /dev/zero\nname: x\n")
    for name, spec in (("names_fifo", "fifo.yaml"), ("names_zero", "/dev/zero"),
                       ("names_secret", "secret.txt"), ("names_dir", "dir.yaml"),
                       ("names_sparse", "sparse.yaml"), ("names_passwd", "/etc/passwd"),
                       ("names_zero_link", "zero_link.yaml")):
        (d / f"{name}.lock").write_text(
            '{"netcalc_lock": 1, "models": [{"spec": "%s", "convention": "pycls", '
            '"resolution": 224, "flops": 1, "params": 1, "acts": 1}]}' % spec)


BAD_SPECS = {  # file -> what the one error line says
    "fifo.yaml": "not a regular file", "fifo.json": "not a regular file",
    "fifo_link.yaml": "not a regular file", "zero_link.yaml": "not a regular file",
    "/dev/zero": "not a regular file", "/dev/urandom": "not a regular file",
    "/dev/null": "not a regular file", "dir.yaml": "is a directory",
    "sparse.yaml": "larger than 5242880 bytes", "sparse_link.yaml": "larger than 5242880",
    "over.yaml": "larger than 5242880 bytes", "binary.yaml": "not UTF-8",
    "missing.yaml": "no such file",
}
SPEC_COMMANDS = {
    "count": ["count"], "flops": ["flops"], "check": ["check", "--max-flops", "1G"],
    "lock": ["lock"], "solve": ["solve", "--flops", "1G"], "fit": ["fit", "--spec"],
    "steps": ["steps", "--for", "width", "--from", "1", "--to", "1.1"],
    "validate": ["validate"],
}


def path(d, name):
    return name if name.startswith("/") else str(d / name)


def corpus(d):
    cases = []
    for name, message in BAD_SPECS.items():
        for command, args in SPEC_COMMANDS.items():
            if command in ("validate", "steps", "fit") and name not in (
                    "fifo.yaml", "/dev/zero", "sparse.yaml", "dir.yaml"):
                continue            # the reader is shared: a few files suffice here
            cases.append(Case(f"{command}:{name}", [*args, path(d, name)], 2, message))
        cases.append(Case(f"trends:{name}", ["trends", str(d / "ok.yaml"), path(d, name)], 2,
                          message))
    for name, message in (("fifo_space.yaml", "not a regular file"),
                          ("/dev/zero", "not a regular file"), ("dir.yaml", "is a directory"),
                          ("sparse.yaml", "larger than 5242880"),
                          ("extends_fifo.yaml", "not a regular file"),
                          ("extends_zero.yaml", "not a regular file")):
        for command in (["space"], ["sample", "--n", "1"]):
            cases.append(Case(f"{command[0]}:{name}", [*command, path(d, name)], 2, message))
    for lock, message in (("fifo.lock", "not a regular file"), ("over.lock", "larger than"),
                          ("/dev/zero", "not a regular file"), ("dir.yaml", "is a directory"),
                          ("names_fifo.lock", "not a regular file"),
                          ("names_zero.lock", "spec files (.yaml, .yml, .json) or shipped models only"),
                          ("names_secret.lock", "spec files (.yaml, .yml, .json) or shipped models only"),
                          ("names_passwd.lock", "spec files (.yaml, .yml, .json) or shipped models only"),
                          ("names_dir.lock", "is a directory"),
                          ("names_sparse.lock", "larger than 5242880"),
                          ("names_zero_link.lock", "not a regular file")):
        cases.append(Case(f"check-lock:{lock}", ["check", "--lock", path(d, lock)], 2, message))
    for api, target in (("netcalc.load_spec", "fifo.yaml"), ("netcalc.count", "/dev/zero"),
                        ("netcalc.load_spec", "sparse.yaml"),
                        ("netcalc.spaces.load_space", "fifo_space.yaml"),
                        ("netcalc.testing.read_lock", "fifo.lock"),
                        ("netcalc.testing.assert_lock", "names_fifo.lock")):
        cases.append(Case(f"api:{api}:{target}",
                          api=f"import netcalc.spaces, netcalc.testing\n{api}({path(d, target)!r})",
                          raises="SpecError", error="regular file" if "fifo" in target
                          or "zero" in target else "larger than"))
    cases.append(Case("at-cap-reads", ["count", str(d / "at_cap.yaml"), "--by", "total"], 0))
    return cases


outcomes, test_hostile_reading = corpus_module(corpus, make_files, "reading")


def test_secret_file_content_is_never_echoed(outcomes):
    assert not any("THE-SECRET" in o.stderr or "root:" in o.stderr for o in outcomes.values())
