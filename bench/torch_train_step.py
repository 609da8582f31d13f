# PyTorch peer of TrainStepBench: one eager training step (forward, backward, AdamW) of the reference MLP.
import json, sys, time
import torch

d, h, b, steps, threads = (int(a) for a in sys.argv[1:6])
torch.set_num_threads(threads)
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(d, h), torch.nn.GELU(), torch.nn.Linear(h, d))
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
x = torch.randn(b, d)
y = torch.randn(b, d)
times = []
for i in range(steps + 3):
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    float(loss)
    times.append(time.perf_counter() - t0)
t = sorted(times[3:])
print(json.dumps({"median_s": t[len(t) // 2], "best_s": t[0], "version": torch.__version__, "threads": torch.get_num_threads()}))
