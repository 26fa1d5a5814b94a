"""Names of the user attributes a trial carries in the storage (written by workers, read by everyone).

Plain JSON values, so optuna-dashboard shows them and any process can read a study without ConvSmith.
"""

SPEC = "spec"                    # the candidate's canonical spec text
FIGURES = "figures"              # analysis: params, macs, memory, rf, train_bytes; latency when measured (ms)
CURVE = "curve"                  # learning curve: one dict per epoch (epoch, val_acc, val_loss, train_loss, ...)
INFEASIBLE = "infeasible"        # the violated limit, in words (trial COMPLETE but never trained)
FAILURE = "failure"              # why a trial failed
INTERRUPTED = "interrupted"      # why a trial ended without a result (stop, kill, lost heartbeat)
RETRY_OF = "retry_of"            # on a retry: the number of the interrupted trial it repeats
OOM_BYTES = "oom_bytes"          # estimated training bytes of a candidate that ran out of memory
TRAIN_SECONDS = "train_seconds"  # seconds spent training (evaluation included)
TRAIN_STATUS = "train_status"    # how training ended (training.records.STATUSES, or pruned)
FOLDER = "folder"                # the trial's artifact folder on the machine that ran it
WORKER = "worker"                # {"host", "pid"} of the process running the trial
HEARTBEAT = "heartbeat"          # time of the last liveness mark (seconds since the epoch)
DUPLICATE_OF = "duplicate_of"    # a candidate already in the study: the number of the trial it repeats
