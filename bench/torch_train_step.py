# PyTorch peer of TrainStepBench: one eager training step (forward, backward, AdamW) of the reference MLP.
# Usage: torch_train_step.py D H B STEPS THREADS [--serve]
#   default: run 3 warm-up + STEPS timed steps, print one JSON line with median/best.
#   --serve: stay alive; for each stdin line "N" run N steps and print {"times": [...]} (seconds per step),
#            so the caller can interleave blocks of its own steps with ours under the same machine load.
import json, sys, time
import torch

d, h, b, steps, threads = (int(a) for a in sys.argv[1:6])
serve = "--serve" in sys.argv[6:]
torch.set_num_threads(threads)
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(d, h), torch.nn.GELU(), torch.nn.Linear(h, d))
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
x = torch.randn(b, d)
y = torch.randn(b, d)


def run(n):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        float(loss)
        times.append(time.perf_counter() - t0)
    return times


info = {"version": torch.__version__, "threads": torch.get_num_threads()}
if serve:
    print(json.dumps(info), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line or line == "quit":
            break
        print(json.dumps({"times": run(int(line))}), flush=True)
else:
    t = sorted(run(steps + 3)[3:])
    print(json.dumps({"median_s": t[len(t) // 2], "best_s": t[0], **info}))
