"""Train the mountain-vs-beach network from scratch.

    /usr/bin/python3 train/train.py --out train/runs/NAME [--data ../shared/data]
        [--epochs 40] [--resume]

Trains a 4-class softmax (beach, mountain, neither, and glacier as an
auxiliary class); the exported model is the softmax over beach, mountain and
neither. --exclude SOURCE leaves a whole source out of training and
validates on all of its beach and mountain photos: the cross-source measure.
--init RUN/final.pt starts from trained weights (a warm restart); with
--weight-levels K it fine-tunes them for weights on K levels per tensor
(quantization-aware; export.py then writes that grid). --aux W adds an
auxiliary head that names each photo's fine category (not exported).
Prints one line per epoch (loss, validation accuracy per source on
beach+mountain, the share of "neither" photos flagged, time left) to stdout and
OUT/log.txt; checkpoints OUT/last.pt every epoch (--resume continues from it)
and writes OUT/final.pt at the end. Seeded: the data order and augmentation
of epoch e depend only on (--seed, e).
"""
import argparse
import math
import os
import sys
import time

# Set before torch loads libgomp: with the default (spinning) wait policy,
# 2 OpenMP threads on a 2-core machine that is also compiling run 4-8x
# slower than 1 thread (measured: 7 vs 64 img/s with PASSIVE, 2 threads).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import data  # noqa: E402
import export  # noqa: E402
from model import BEACH, CLASSES, MOUNTAIN, NEITHER, Net, exported_probs  # noqa: E402

REPO = os.path.dirname(HERE)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data"))
    p.add_argument("--out", required=True, help="run directory (checkpoints, log.txt)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--wd", type=float, default=5e-4)
    p.add_argument("--smoothing", type=float, default=0.1)
    p.add_argument("--size", type=int, default=128, help="network input (square)")
    p.add_argument("--store", type=int, default=144, help="size training images are kept at")
    p.add_argument("--widths", default="32,64,128,256")
    p.add_argument("--blocks", default="1,1,2,2")
    p.add_argument("--sun-repeat", type=int, default=3, help="copies of sun-scenes per epoch")
    p.add_argument("--places-repeat", type=int, default=2,
                   help="copies of places-mini beach and mountain per epoch")
    p.add_argument("--exclude", action="append", default=[],
                   help="leave this source out of training; validate on all its photos")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--limit", type=int, default=0,
                   help="smoke runs: keep only this many images per source/label/part")
    p.add_argument("--steps", type=int, default=0, help="smoke runs: stop each epoch after N steps")
    p.add_argument("--cache", default=os.path.join(HERE, "runs", "cache"),
                   help="where decoded images are cached ('' = no cache)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--init", help="start from this checkpoint's weights (a new schedule: a warm "
                                  "restart), e.g. RUN/final.pt")
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up epochs")
    p.add_argument("--weight-levels", type=int, default=0,
                   help="quantization-aware training: the convolutions' folded weights on a "
                        "grid of this many levels per tensor (e.g. 32: 5 bits, which gzip to "
                        "about half of 256 levels' bytes), batch norm statistics frozen; "
                        "export.py writes that grid. 0 = off. Use with --init")
    p.add_argument("--aux", type=float, default=0.0,
                   help="weight of an auxiliary head that names each photo's fine category "
                        "(every Places category, the near: ones included; trained, not "
                        "exported); 0 = no such head")
    p.add_argument("--plain", type=float, default=0.0,
                   help="share of the \"neither\" photos in each batch shown shrunk onto a "
                        "plain or two-colour background (data.on_plain_background); 0 = off")
    p.add_argument("--min-scale", type=float, default=0.25,
                   help="smallest random crop, as a share of the stored photo's area (up to 1: "
                        "larger crops zoom in less, nearer what the engine sees)")
    p.add_argument("--grey", type=float, default=0.1,
                   help="share of training photos shown in black and white")
    p.add_argument("--cast", type=float, default=0.0,
                   help="share of training photos given a colour cast (data.colour_cast); "
                        "0 = off")
    p.add_argument("--jpeg", type=float, default=0.0,
                   help="share of training photos saved as a JPEG of low to ordinary quality "
                        "and decoded again (data.recompress); 0 = off")
    p.add_argument("--teacher", action="append", default=[],
                   help="checkpoint to distil from (repeat for an ensemble: the mean of their "
                        "logits); with --kd")
    p.add_argument("--kd", type=float, default=0.0,
                   help="weight of the distillation loss (the rest on the labels); 0 = off")
    p.add_argument("--kd-temp", type=float, default=2.0, help="softmax temperature of distillation")
    p.add_argument("--kd-unlabelled", action="store_true",
                   help="also train on the photos left out of the classes (the near: categories "
                        "that could be either), through the distillation loss alone")
    p.add_argument("--cutmix", type=float, default=0.0,
                   help="share of each batch given a box of another photo, its target mixed "
                        "by area (data.cut_mix); 0 = off; not with --aux")
    args = p.parse_args(argv)
    if args.cutmix > 0 and args.aux > 0:
        p.error("--cutmix and --aux cannot be combined (mixed targets have no unlabelled class)")
    if (args.kd > 0) != bool(args.teacher):
        p.error("--kd and --teacher go together")
    if args.kd_unlabelled and not args.kd:
        p.error("--kd-unlabelled needs --kd")
    if args.kd > 0 and args.cutmix > 0:
        p.error("--kd and --cutmix cannot be combined")
    return args


def limit_rows(rows, n):
    if not n:
        return rows
    seen, kept = {}, []
    for r in rows:
        key = (r["source"], r["label"], r["part"])
        if seen.get(key, 0) < n:
            seen[key] = seen.get(key, 0) + 1
            kept.append(r)
    return kept


@torch.no_grad()
def probabilities(model, images_u8, batch=256):
    """(N, 3) exported probabilities (beach, mountain, neither) for uint8
    (N,H,W,3) engine inputs."""
    model.eval()
    out = []
    for i in range(0, len(images_u8), batch):
        out.append(exported_probs(model(data.to_input(images_u8[i:i + batch]))))
    return torch.cat(out).numpy() if out else np.zeros((0, 3))


def accuracy_report(probs, rows):
    """{key: (correct, total)}: beach/mountain accuracy per source (score =
    P(mountain) among beach+mountain > 0.5) and overall; for neither rows,
    "neither" counts photos flagged (P(neither) > 0.5, or a score within
    the not-sure band)."""
    res = {}
    for p, r in zip(probs, rows):
        score = p[MOUNTAIN] / max(p[MOUNTAIN] + p[BEACH], 1e-12)
        if r["y"] == NEITHER:
            keys = ["neither:" + ("unseen" if data.held_out_category(r["path"]) else r["source"])]
            ok = p[NEITHER] > 0.5 or 0.35 <= score <= 0.65
        elif r["y"] in (BEACH, MOUNTAIN):
            keys = [r["source"], "overall"]
            ok = (score > 0.5) == (r["y"] == MOUNTAIN)
        else:
            continue
        for key in keys:
            c, t = res.get(key, (0, 0))
            res[key] = (c + int(ok), t + 1)
    return res


def format_report(res):
    return " ".join("%s %.2f%%" % (k, 100.0 * c / t) for k, (c, t) in res.items() if t)


def distillation(logits, teachers, x, temp):
    """KL(teacher || student) at temperature temp, scaled by temp^2 (Hinton
    et al.), on the same augmented inputs; an ensemble teaches the mean of
    its members' logits."""
    with torch.no_grad():
        target = torch.stack([t(x) for t in teachers]).mean(0)
    return F.kl_div(F.log_softmax(logits / temp, dim=1), F.softmax(target / temp, dim=1),
                    reduction="batchmean") * temp * temp


def param_groups(model, wd):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim <= 1 else decay).append(p)
    return [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]


def lr_at(step, total, warmup, base):
    if step < warmup:
        return base * (step + 1) / warmup
    return 0.5 * base * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def refuse_seen_sources(args):
    """A source --exclude leaves out must not come back through the weights
    a run starts from, learns from or resumes: --init, --teacher and --resume
    name checkpoints whose "args" say what their own training left out (none
    recorded, e.g. an unfolded shipped model: it saw every source)."""
    excluded = set(args.exclude)
    last = os.path.join(args.out, "last.pt")
    starts = ([args.init] if args.init else []) + list(args.teacher) \
        + ([last] if args.resume and os.path.exists(last) else [])
    for path in starts if excluded else []:
        left_out = set(torch.load(path, map_location="cpu").get("args", {}).get("exclude", []))
        if not excluded <= left_out:
            raise SystemExit("train.py: %s was trained on %s, which --exclude leaves out: its weights "
                             "would carry that source into this run"
                             % (path, ", ".join(sorted(excluded - left_out))))


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    refuse_seen_sources(args)
    os.makedirs(args.out, exist_ok=True)
    log = open(os.path.join(args.out, "log.txt"), "a")

    def say(msg):
        print(msg, flush=True)
        log.write(msg + "\n")
        log.flush()

    say("# %s %s" % (time.strftime("%Y-%m-%d %H:%M:%S"), " ".join(sys.argv)))
    rows = limit_rows(data.read_manifest(args.data, unlabelled=args.aux > 0 or args.kd_unlabelled),
                      args.limit)
    excluded = set(args.exclude)
    train_rows = [r for r in rows if r["part"] == "train" and r["source"] not in excluded]
    val_rows = [r for r in rows if r["y"] in (BEACH, MOUNTAIN, NEITHER) and (
        r["part"] == "val" or (r["source"] in excluded and r["y"] != NEITHER))]
    t0 = time.time()
    cache = args.cache if not args.limit else ""
    train_x = torch.from_numpy(data.cached_images(args.data, train_rows, args.store, cache))
    val_x = data.cached_images(args.data, val_rows, args.size, cache)
    train_y = torch.tensor([r["y"] for r in train_rows])
    say("# %d train, %d val images decoded in %.0f s"
        % (len(train_rows), len(val_rows), time.time() - t0))

    torch.manual_seed(args.seed)
    model = Net([int(w) for w in args.widths.split(",")], [int(b) for b in args.blocks.split(",")])
    # The auxiliary head: features -> fine category, a second loss that
    # teaches what tells the Places categories apart, near: ones included.
    fine = {n: i for i, n in enumerate(sorted({data.fine_label(r) for r in train_rows}))} \
        if args.aux > 0 else {}
    aux = torch.nn.Linear(model.fc.in_features, len(fine)) if fine else None
    fine_y = torch.tensor([fine[data.fine_label(r)] for r in train_rows]) if aux else None
    opt = torch.optim.SGD(param_groups(torch.nn.ModuleList([model] + ([aux] if aux else [])),
                                       args.wd), lr=args.lr, momentum=0.9, nesterov=True)
    teachers = [export.load_net(t)[0] for t in args.teacher]
    if teachers:
        say("# distilling from %s (weight %g, T %g)" % (" + ".join(args.teacher), args.kd, args.kd_temp))
    start = 0
    if args.init:
        model.load_state_dict(torch.load(args.init, map_location="cpu")["model"])
        say("# weights from %s" % args.init)
    model.quantize_weights(args.weight_levels)
    last = os.path.join(args.out, "last.pt")
    if args.resume and os.path.exists(last):
        ck = torch.load(last)
        model.load_state_dict(ck["model"])
        if aux:
            aux.load_state_dict(ck["aux"])
        opt.load_state_dict(ck["opt"])
        start = ck["epoch"]
        say("# resumed after epoch %d" % start)

    # Each epoch: every training image once, sun-scenes (small, clean) and
    # places-mini's beach and mountain photos (the kind the original was
    # judged on) repeated.
    sun = [i for i, r in enumerate(train_rows) if r["source"] == "sun-scenes"]
    places = [i for i, r in enumerate(train_rows)
              if r["source"] == "places-mini" and r["y"] in (BEACH, MOUNTAIN)]
    epoch_ids = torch.tensor(list(range(len(train_rows))) + sun * (args.sun_repeat - 1)
                             + places * (args.places_repeat - 1), dtype=torch.long)
    steps_per_epoch = len(epoch_ids) // args.batch
    if args.steps:
        steps_per_epoch = min(steps_per_epoch, args.steps)
    total = steps_per_epoch * args.epochs
    warmup = min(int(args.warmup * steps_per_epoch), total // 10 + 1)
    run_start, done_at_start = time.time(), start

    for epoch in range(start, args.epochs):
        t_epoch = time.time()
        gen = torch.Generator().manual_seed(args.seed * 100003 + epoch)
        order = epoch_ids[torch.randperm(len(epoch_ids), generator=gen)]
        model.train()
        loss_sum = 0.0
        for s in range(steps_per_epoch):
            idx = order[s * args.batch:(s + 1) * args.batch]
            x = data.augment(train_x[idx], args.size, gen, min_scale=args.min_scale, grey_p=args.grey,
                             plain=train_y[idx] == NEITHER, plain_p=args.plain,
                             cast_p=args.cast, jpeg_p=args.jpeg)
            for g in opt.param_groups:
                g["lr"] = lr_at(epoch * steps_per_epoch + s, total, warmup, args.lr)
            y = train_y[idx]
            if args.cutmix > 0:
                x, y = data.cut_mix(x, y, len(CLASSES), args.cutmix, gen)
            features = model.features(x)
            logits = model.fc(features)
            if y.dim() == 1 and bool((y == data.UNLABELLED).all()):
                loss = logits.sum() * 0.0  # unlabelled photos only: every row ignored gives NaN
            else:
                loss = F.cross_entropy(logits, y, label_smoothing=args.smoothing,
                                       **({} if args.cutmix > 0 else {"ignore_index": data.UNLABELLED}))
            if teachers:
                loss = (1 - args.kd) * loss + args.kd * distillation(logits, teachers, x, args.kd_temp)
            if aux:
                loss = loss + args.aux * F.cross_entropy(aux(features), fine_y[idx],
                                                         label_smoothing=args.smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item()
        probs = probabilities(model, val_x)
        res = accuracy_report(probs, val_rows)
        bm = np.array([r["y"] != NEITHER for r in val_rows], dtype=bool)
        score = probs[bm, MOUNTAIN] / np.maximum(probs[bm, MOUNTAIN] + probs[bm, BEACH], 1e-12)
        unsure = float(np.mean((score >= 0.35) & (score <= 0.65))) if len(score) else 0.0
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": epoch + 1,
                    "args": vars(args), "aux": aux.state_dict() if aux else None},
                   last + ".tmp")
        os.replace(last + ".tmp", last)
        elapsed = time.time() - run_start
        left = elapsed / (epoch + 1 - done_at_start) * (args.epochs - epoch - 1)
        took = time.time() - t_epoch
        say("epoch %d/%d loss %.4f | val %s | unsure %.1f%% | %.0f s (%.0f img/s), %.0f min left"
            % (epoch + 1, args.epochs, loss_sum / max(1, steps_per_epoch), format_report(res),
               100 * unsure, took, steps_per_epoch * args.batch / took, left / 60))

    final = {"model": model.state_dict(), "args": vars(args), "classes": CLASSES,
             "widths": model.widths, "blocks": model.blocks, "size": args.size,
             "mean": data.MEAN, "std": data.STD}
    torch.save(final, os.path.join(args.out, "final.pt"))
    say("# wrote %s" % os.path.join(args.out, "final.pt"))
    log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
