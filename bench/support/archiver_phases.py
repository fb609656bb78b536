"""Runs torch-model-archiver (its own code, unchanged) with its two phases timed.

    python archiver_phases.py ARCHIVER-ARGS...

The archiver copies every input into $TMPDIR/<model-name> (copy_artifacts),
then writes the archive from that copy (archive: zipfile for .mar, shutil.copy
per file for no-archive) and removes the copy. Prints one JSON line on stdout:
seconds for imports, copy_artifacts, archive, the removal of the copy, total.
"""
import json
import shutil
import sys
import time

t0 = time.perf_counter()
from model_archiver import model_packaging  # noqa: E402
from model_archiver.model_packaging_utils import ModelExportUtils  # noqa: E402

phases = {"imports": time.perf_counter() - t0}


def timed(name, fn):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            phases[name] = phases.get(name, 0.0) + time.perf_counter() - start

    return wrapper


ModelExportUtils.copy_artifacts = staticmethod(timed("copy_artifacts", ModelExportUtils.copy_artifacts))
ModelExportUtils.archive = staticmethod(timed("archive", ModelExportUtils.archive))
model_packaging.shutil = type("shutil", (), {"rmtree": staticmethod(timed("remove_copy", shutil.rmtree))})

sys.argv = ["torch-model-archiver"] + sys.argv[1:]
model_packaging.generate_model_archive()
phases["total"] = time.perf_counter() - t0
print(json.dumps(phases))
