"""Trained weights as Optuna artifacts, so the best trial's weights can be fetched from any machine.

Each complete trial uploads its ``final.pt`` (training.checkpoint format) with ``optuna.artifacts`` to a
``FileSystemArtifactStore`` (``--artifacts DIR``, default ``ROOT/STUDY/artifacts``); Optuna records the
artifact on the trial in the study's storage. With several machines, point ``--artifacts`` at a shared
folder (NFS, a mounted bucket): ``convsmith study NAME --export-weights best.pt`` then downloads the best
trial's weights on any of them. Only the best ``keep_best`` trials keep their artifact.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import optuna
from optuna.artifacts import FileSystemArtifactStore, download_artifact, get_all_artifact_meta, upload_artifact
from optuna.artifacts.exceptions import ArtifactNotFound

from search.config import SearchError

WEIGHTS = "final.pt"


def store(folder: str | Path) -> FileSystemArtifactStore:
    Path(folder).mkdir(parents=True, exist_ok=True)
    return FileSystemArtifactStore(str(folder))


def upload(trial: optuna.Trial, run_dir: Path, folder: str | Path) -> str | None:
    """Upload a running trial's final weights (before it is told); returns the artifact id."""
    path = run_dir / WEIGHTS
    if not path.exists():
        return None
    return upload_artifact(artifact_store=store(folder), file_path=str(path), study_or_trial=trial)


def artifact_id(study: optuna.Study, number: int) -> str | None:
    trial = study.get_trials(deepcopy=False)[number]
    metas = [m for m in get_all_artifact_meta(trial, storage=study._storage) if m.filename == WEIGHTS]
    return metas[-1].artifact_id if metas else None


def download(study: optuna.Study, number: int, folder: str | Path, path: str | Path) -> None:
    """Write trial ``number``'s weights to ``path``."""
    aid = artifact_id(study, number)
    if aid is None:
        raise SearchError(f"trial {number} has no stored weights (not complete, or not among the best kept)")
    try:
        download_artifact(artifact_store=store(folder), file_path=str(path), artifact_id=aid)
    except Exception as e:  # the store is a folder of another machine that is not mounted here, ...
        raise SearchError(f"cannot fetch the weights of trial {number} from {folder}: {e}") from None


def keep_only(study: optuna.Study, keep: set[int], folder: str | Path) -> None:
    """Remove the stored weights of every trial not in ``keep``."""
    st = store(folder)
    for t in study.get_trials(deepcopy=False):
        if t.number in keep:
            continue
        for m in get_all_artifact_meta(t, storage=study._storage):
            with contextlib.suppress(ArtifactNotFound):  # already removed (by another machine)
                st.remove(m.artifact_id)
