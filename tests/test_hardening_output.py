"""Output that cannot fail quietly: a broken engine, special files, closed streams, Ctrl-C,
threads drawing at once, and characters XML forbids. Each test reproduces a reported case."""

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import graphviz_bp as bp
from graphviz_bp import losses
from graphviz_bp.dot import to_dot
from graphviz_bp.drawing import draw
from graphviz_bp.quoting import html_text

SVG = "{http://www.w3.org/2000/svg}"
HAS_DOT = shutil.which("dot") is not None
POSIX = pytest.mark.skipif(os.name != "posix", reason="needs POSIX files, signals and sh")
#: The reported expression: its DOT source is far larger than a pipe's buffer.
DEEP = "sumsq(" + "tanh(" * 70 + "x" + ")" * 70 + ")"
SYSTEM = pytest.param("system", marks=[pytest.mark.system_dot, pytest.mark.skipif(
    not HAS_DOT, reason="the system Graphviz `dot` is not installed")])
ENGINES = ["bundled", SYSTEM]


def run(*args, cwd, **options):
    options.setdefault("capture_output", True)
    return subprocess.run([sys.executable, "-m", "graphviz_bp", *args], text=True, cwd=cwd,
                          timeout=120, **options)


def assert_bad_input(result, message):
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stderr.startswith("graphviz-bp: error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr, result.stderr


def names(folder: Path) -> set:
    return {p.name for p in folder.iterdir()}


def group(root: ET.Element, element_id: str) -> ET.Element:
    (found,) = [e for e in root.iter(f"{SVG}g") if e.get("id") == element_id]
    return found


def texts_of(element: ET.Element) -> str:
    return " ".join(t.text or "" for t in element.iter(f"{SVG}text"))


def tooltip(root: ET.Element, element_id: str) -> str:
    """The tooltip of a node or edge: the <title> of its inner group a_…"""
    return group(root, f"a_{element_id}").find(f"{SVG}title").text


# ---------------------------------------------------------------- 1. engines and Graphviz's limits


@POSIX
@pytest.mark.parametrize("script, message", [
    ('echo "Error: this dot refuses its input" >&2; exit 1', "dot failed: Error: this dot refuses"),
    ("exit 0", "the system engine drew nothing"),
])
def test_a_system_engine_that_stops_reading_is_an_error_not_a_silent_success(tmp_path, script,
                                                                             message):
    # A `dot` that exits without reading its input: writing the next line to it used to
    # raise BrokenPipeError, which main() took for a closed stdout and exited 0.
    fake = tmp_path / "bin" / "dot"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"}
    result = run("render", "--engine", "system", "--show", "values,formulas", "--expr", DEEP,
                 "--var", "x=2", "-o", "n.svg", cwd=tmp_path, env=env)
    assert_bad_input(result, message)
    assert names(tmp_path) == {"bin"}


@pytest.mark.parametrize("engine", ENGINES)
def test_the_reported_deep_formula_renders_with_either_engine(tmp_path, engine):
    # When reported, its edge formulas ran past Graphviz's limit (now its derivation names
    # long terms by their node, and a text that long would be cut: the next test).
    result = run("render", "--engine", engine, "--show", "values,formulas", "--expr", DEEP,
                 "--var", "x=2", "-o", "n.svg", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    root = ET.parse(tmp_path / "n.svg").getroot()
    assert "∇ = " in texts_of(group(root, "edge-x-tanh_1-0"))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("character", ['"', "€", "\\", "x"])
def test_a_label_text_longer_than_graphviz_allows_is_cut_and_drawn(engine, character):
    # Graphviz refuses 16,384 bytes of text between two tags; escaped, '"' takes 6.
    text = html_text(character * 20_000)
    assert text.endswith("…") and len(text.encode()) < 16_384
    root = ET.fromstring(draw(f"digraph {{ a [label=<{text}>] }}", "svg", engine))
    shown = texts_of(root)
    assert shown.endswith("…") and shown.startswith(character * 100)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_tooltip_row_longer_than_graphviz_allows_is_wrapped_with_every_entry(tmp_path, engine):
    # 1000 entries of 15 characters on one tooltip line: Graphviz refused the figure.
    result = run("render", "--engine", engine, "--expr", "1e-6 * sumsq(x)", "--var", "x=1000",
                 "-o", "v.svg", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = tooltip(ET.parse(tmp_path / "v.svg").getroot(), "node-x")
    gradient = text.split("∇ (total) =", 1)[1]
    assert len(re.findall(r"-?\d+\.\d+(?:e[-+]\d+)?", gradient)) == 1000
    assert max(map(len, text.splitlines())) < 4000


@pytest.mark.parametrize("engine", ENGINES)
def test_graphviz_refusing_a_long_string_says_why_in_one_line(engine):
    with pytest.raises(bp.RenderError) as caught:
        draw('digraph { a [label="' + "y" * 20_000 + '"] }', "svg", engine)
    message = str(caught.value)
    assert "longer than 16384" in message and "\n" not in message


# ---------------------------------------------------------------- 2. special files


@POSIX
def test_a_fifo_is_refused_and_stays_a_fifo(tmp_path):
    os.mkfifo(tmp_path / "fig.svg")
    result = run("render", "autoencoder", "-o", "fig.svg", cwd=tmp_path)
    assert_bad_input(result, "cannot write 'fig.svg': it is a named pipe, not a regular file")
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fig.svg").st_mode)
    assert names(tmp_path) == {"fig.svg"}


@POSIX
@pytest.mark.parametrize("device", ["/dev/null", "/dev/full"])
def test_a_link_to_a_device_is_refused_and_neither_is_replaced(tmp_path, device):
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    (tmp_path / "fig.svg").symlink_to(device)
    result = run("render", "autoencoder", "-o", "fig.svg", cwd=tmp_path)
    assert_bad_input(result, "cannot write 'fig.svg': it is a character device")
    assert os.readlink(tmp_path / "fig.svg") == device
    assert stat.S_ISCHR(os.stat(device).st_mode)
    assert names(tmp_path) == {"fig.svg"}


@POSIX
@pytest.mark.parametrize("existing", [True, False], ids=["existing", "dangling"])
def test_a_link_to_a_regular_file_writes_the_target_and_keeps_the_link(tmp_path, existing):
    target = tmp_path / "figs" / "real.svg"
    target.parent.mkdir()
    if existing:
        target.write_text("old")
        target.chmod(0o640)
    (tmp_path / "fig.svg").symlink_to(target)
    result = run("render", "autoencoder", "-o", "fig.svg", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert os.readlink(tmp_path / "fig.svg") == str(target)
    assert ET.parse(target).getroot().tag == f"{SVG}svg"
    if existing:
        assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert names(tmp_path) == {"fig.svg", "figs"} and names(target.parent) == {"real.svg"}


@POSIX
@pytest.mark.parametrize("path, stream", [("/dev/stdout", "stdout"), ("/dev/stderr", "stderr"),
                                          ("link.svg", "stdout")])
def test_naming_our_own_stdout_or_stderr_writes_through_to_it(tmp_path, path, stream):
    if path == "link.svg":
        if not os.path.exists("/proc/self/fd/1"):
            pytest.skip("no /proc here")
        (tmp_path / "link.svg").symlink_to("/proc/self/fd/1")
    result = run("render", "autoencoder", "-o", path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = getattr(result, stream)
    assert ET.fromstring(written.encode()).tag == f"{SVG}svg"
    assert names(tmp_path) == ({"link.svg"} if path == "link.svg" else set())
    if path == "link.svg":
        assert os.readlink(tmp_path / "link.svg") == "/proc/self/fd/1"


def test_a_file_name_near_the_system_limit_is_written(tmp_path):
    # Its temporary file, named after it, was longer than the limit: the render was refused.
    name = "a" * 250 + ".svg"
    result = run("render", "autoencoder", "-o", name, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert names(tmp_path) == {name}


def test_a_path_holding_a_nul_character_is_a_render_error(tmp_path):
    with pytest.raises(bp.RenderError, match="cannot hold a NUL character"):
        bp.render(losses.autoencoder(), tmp_path / "a\0b.svg")
    assert names(tmp_path) == set()


# ---------------------------------------------------------------- 3. bad input, exit 2


def test_a_negative_seed_is_bad_input(tmp_path):
    assert_bad_input(run("render", "autoencoder", "--seed", "-1", "-o", "a.svg", cwd=tmp_path),
                     "--seed must be 0 or more, got -1")
    assert names(tmp_path) == set()


def test_a_folder_named_as_the_output_file_is_bad_input(tmp_path):
    (tmp_path / "d.svg").mkdir()
    result = run("render", "autoencoder", "-o", "d.svg", cwd=tmp_path)
    assert_bad_input(result, "cannot write 'd.svg': it is a folder")
    assert names(tmp_path) == {"d.svg"} and names(tmp_path / "d.svg") == set()


def test_figures_into_a_file_is_bad_input(tmp_path):
    (tmp_path / "afile").write_text("kept")
    result = run("figures", "--out", "afile", cwd=tmp_path)
    assert_bad_input(result, "cannot write the figures into 'afile': it is a file, not a folder")
    assert (tmp_path / "afile").read_text() == "kept" and names(tmp_path) == {"afile"}


@POSIX
@pytest.mark.parametrize("args", [["render", "autoencoder", "-o", "-"], ["inspect", "autoencoder"]])
def test_a_closed_stdout_is_bad_input(tmp_path, args):
    # `>&-` in a shell: the command starts with no file descriptor 1 at all.
    result = subprocess.run(["sh", "-c", '"$@" >&-', "sh", sys.executable, "-m", "graphviz_bp",
                             *args], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert_bad_input(result, "cannot write to standard output: it is closed")
    assert names(tmp_path) == set()


@POSIX
def test_a_closed_stderr_sends_nothing_to_stdout(tmp_path):
    # With no stderr, print(..., file=sys.stderr) wrote the file's name to stdout.
    result = subprocess.run(["sh", "-c", '"$@" 2>&-', "sh", sys.executable, "-m", "graphviz_bp",
                             "render", "autoencoder", "-o", "a.svg"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 0 and result.stdout == ""
    assert ET.parse(tmp_path / "a.svg").getroot().tag == f"{SVG}svg"


@POSIX
def test_a_write_that_fails_midway_is_one_line_and_leaves_no_temporary_file(tmp_path):
    # A file size limit fails the write of a regular file past 4 kB, as a full disk would
    # (the DOT source: drawing SVG, pygraphviz would write a temporary file of its own).
    import resource

    def limited():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    result = run("render", "autoencoder", "-o", "out.gv", cwd=tmp_path, preexec_fn=limited)
    assert_bad_input(result, "cannot write 'out.gv': File too large")
    assert names(tmp_path) == set()


@pytest.mark.parametrize("args", [["render", "autoencoder", "-o", ""], ["figures", "--out", ""]])
def test_an_empty_output_path_is_bad_input(tmp_path, args):
    # It was taken for no path at all: the figure went to the default name, or into ".".
    assert_bad_input(run(*args, cwd=tmp_path), "got an empty")
    assert names(tmp_path) == set()


def test_a_stdout_that_cannot_encode_the_report_gets_escapes(tmp_path):
    result = run("inspect", "autoencoder", cwd=tmp_path,
                 env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert result.returncode == 0, result.stderr
    assert "2\\xd73" in result.stdout and result.stdout.isascii()


def test_trials_are_capped(tmp_path):
    result = run("check", "autoencoder", "--trials", "5000", "--claim", "W=W", cwd=tmp_path)
    assert_bad_input(result, "--trials must be at most 1,000, got 5,000")
    assert result.stdout == ""


@POSIX
def test_a_reader_that_leaves_early_is_a_quiet_success(tmp_path):
    reader = subprocess.Popen([sys.executable, "-m", "graphviz_bp", "render", "fc-net", "-o", "-"],
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader.stdout.close()  # as `| head -c 0` does
    _, stderr = reader.communicate(timeout=120)
    assert reader.returncode == 0 and stderr == b""


# ---------------------------------------------------------------- 4. Ctrl-C

SPIN = '''
from pathlib import Path

def spin():
    Path(__file__).with_name("started").write_text("in the loop")
    while True:
        pass
'''


@POSIX
@pytest.mark.parametrize("command", [["render", "-o", "out.svg"], ["check"], ["inspect"]])
def test_ctrl_c_is_one_line_exit_130_and_leaves_no_file(tmp_path, command):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "loop.py").write_text(SPIN)
    started = tmp_path / "src" / "started"
    process = subprocess.Popen([sys.executable, "-m", "graphviz_bp", command[0], "src/loop.py:spin",
                                *command[1:]], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not started.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), process.communicate(timeout=10)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert (process.returncode, stderr, stdout) == (130, "graphviz-bp: interrupted\n", "")
    assert names(tmp_path) == {"src"}
    assert names(tmp_path / "src") - {"__pycache__"} == {"loop.py", "started"}


# ---------------------------------------------------------------- 5. threads


def test_threads_drawing_at_once_leave_stderr_where_it_was(capfd):
    source = to_dot(losses.autoencoder())
    before = os.fstat(2)
    start = threading.Barrier(4)
    failures = []

    def work():
        start.wait()
        try:
            for _ in range(10):
                assert draw(source, "svg").startswith(b"<?xml")
        except BaseException as err:  # noqa: BLE001 - reported below, with the others
            failures.append(err)

    threads = [threading.Thread(target=work) for _ in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns between any two lines of the capture
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    after = os.fstat(2)
    assert failures == []
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)
    os.write(2, b"still reaches stderr\n")
    assert "still reaches stderr" in capfd.readouterr().err


# ---------------------------------------------------------------- 6. characters XML forbids


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("label, shown", [
    ("a\x01b", "a\\u0001b"), ("a\ufffeb", "a\\ufffeb"), ("a\uffffb", "a\\uffffb"),
    ("a\ud800b", "a\\ud800b"), ("a\U0010ffffb", "a\\U0010ffffb"), ("a\u2028b", "a\\u2028b"),
])
def test_labels_with_characters_xml_forbids_give_well_formed_svg(engine, label, shown):
    x = bp.param("x", 1.0, label=label)
    g = bp.Graph((bp.sumsq(x * 2.0)).named("L", label=label + "!"))
    root = ET.fromstring(draw(to_dot(g, show="values,formulas"), "svg", engine))
    assert shown in texts_of(group(root, "node-x")) and shown + "!" in texts_of(group(root, "node-L"))
    assert shown in tooltip(root, "node-x") and shown + "!" in tooltip(root, "node-L")
