"""What every benchmark script shares: where the repository and the results are, a timestamped log line, the CPU a wall
time belongs to, JSON and PNG files written safely (a temporary name, then a rename), and the `--glue` option.

Importing it puts the repository on `sys.path`, so `import smp_nb` finds this checkout's package. The scripts in
`benchmarks/` import it as `common`; those in `benchmarks/studies/` put `benchmarks/` on the path first.
"""
import json, platform, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository
RESULTS = ROOT / "benchmarks" / "results"  # committed results: notebooks and READMEs read them by these paths
if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))
from smp_nb.files import atomic_write

def log(*a): print(time.strftime("%H:%M:%S"), *a, flush=True)

def cpu_model() -> str:
    "The CPU's model name (from /proc/cpuinfo where there is one): part of what a wall time is comparable within."
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"): return line.split(":", 1)[1].strip()
    except OSError: pass
    return platform.processor() or platform.machine()

def write_json(path, obj, end:str="", **dump_kw):
    "Write `obj` as JSON (indent 1 unless `dump_kw` says otherwise, then `end`) to `path` through a temporary file in the same folder."
    text = json.dumps(obj, **{"indent": 1, **dump_kw}) + end
    atomic_write(Path(path), lambda tmp: Path(tmp).write_text(text))

def write_text(path, text:str):
    "Write `text` to `path` through a temporary file in the same folder."
    atomic_write(Path(path), lambda tmp: Path(tmp).write_text(text))

def save_png(fig, path, dpi:int=120, tight:bool=True):
    "Save `fig` as a PNG at `path` through a temporary file in the same folder."
    kw = dict(bbox_inches="tight") if tight else {}
    atomic_write(Path(path), lambda tmp: fig.savefig(tmp, format="png", dpi=dpi, **kw))

GLUE_HELP = ("folder in the GLUE TSV layout (default: the package's loader, `smp_nb.data.load_task`: $SMP_DATA/glue "
             "when SMP_DATA is set, else the Hub's nyu-mll/glue)")

def add_glue_arg(ap):
    "The `--glue` option of every script that reads GLUE: a folder, or None for the package's loader."
    ap.add_argument("--glue", default=None, help=GLUE_HELP)

def check_glue(glue, who:str):
    "Exit with a clear message when `--glue` names a folder that is not there (None is fine: the package's loader)."
    if glue is not None and not Path(glue).is_dir(): sys.exit(f"{who}: no GLUE folder at {glue}: pass --glue DIR (GLUE TSV layout), or leave it out.")

def encoder_keeping(kept=None):
    """The offline MiniLM and its tokenizer, with only the `kept` heads of each layer (a run's `kept_heads`: one list of
    head indices per layer) and the others removed physically; `None` keeps every head."""
    from smp_nb.models import head_grid, load_encoder
    from smp_nb.prune import prune_heads
    model, tok = load_encoder()
    if kept is not None:
        H = head_grid(model)[1]
        prune_heads(model, [[1.0 if h in k else 0.0 for h in range(H)] for k in kept])
    return model, tok
