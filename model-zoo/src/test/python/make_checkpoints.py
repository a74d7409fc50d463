"""Generates the small NAT/DiNAT checkpoints the Java import tests load, with real PyTorch.

The models below have the module structure and parameter names of the official implementations:
the original repository (SHI-Labs/Neighborhood-Attention-Transformer, classification/nat.py,
dinat.py, isotropic.py) and Hugging Face transformers (NatForImageClassification,
DinatForImageClassification). Neighborhood attention itself is computed by brute force from the
definition in shared/na-semantics.md (dense logits, a mask of each query's neighbours, the
relative positional bias rpb[h, (j - i) / d + k - 1]), with NAT's zero-padding of feature maps
smaller than kernel * dilation.

For every case it writes, under model-zoo/src/test/resources/checkpoints/:
  <case>.pth          torch.save(state_dict), PyTorch's zip format
  <case>.safetensors  the same tensors, written by hand (no safetensors package needed)
  <case>.io.safetensors  'input' [B, C, H, W] and the expected 'logits' [B, classes]
Some cases store float16 or bfloat16 tensors; their expected logits are computed from the
rounded weights, so the Java side must widen them to float32 exactly.

Run from the repository root:  /usr/bin/python3 model-zoo/src/test/python/make_checkpoints.py
(Debian's python3-torch, torch 1.13, is enough.)
"""
import json
import os
import struct
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "resources", "checkpoints")


# ----------------------------------------------------------------------------------------------
# Neighborhood attention from the definition (non-causal, stride 1).
# ----------------------------------------------------------------------------------------------
def axis_neighbours(length, kernel, dilation):
    """For each position i of an axis, its k neighbours j (ascending)."""
    wl, wr = kernel // 2, kernel // 2 + kernel % 2 - 1
    result = []
    for i in range(length):
        g, ip = i % dilation, i // dilation
        group_len = length // dilation + (1 if g < length % dilation else 0)
        leader = min(ip, group_len - 1)
        start = min(max(leader, wl), group_len - 1 - wr) - wl
        result.append([(start + t) * dilation + g for t in range(kernel)])
    return result


def na2d(q, k, v, rpb, kernel, dilation, scale):
    """q, k, v: [B, heads, H, W, D]; rpb: [heads, 2k-1, 2k-1] or None. Returns [B, heads, H, W, D]."""
    b, heads, h, w, d = q.shape
    rows, cols = axis_neighbours(h, kernel, dilation), axis_neighbours(w, kernel, dilation)
    n = h * w
    mask = torch.full((n, n), float("-inf"))
    bias = torch.zeros(heads, n, n)
    for i in range(h):
        for j in range(w):
            query = i * w + j
            for ki in rows[i]:
                for kj in cols[j]:
                    key = ki * w + kj
                    mask[query, key] = 0.0
                    if rpb is not None:
                        bias[:, query, key] = rpb[
                            :, (ki - i) // dilation + kernel - 1, (kj - j) // dilation + kernel - 1
                        ]
    logits = (q.reshape(b, heads, n, d) * scale) @ k.reshape(b, heads, n, d).transpose(-1, -2)
    logits = logits + mask + (bias if rpb is not None else 0)
    out = logits.softmax(-1) @ v.reshape(b, heads, n, d)
    return out.reshape(b, heads, h, w, d)


def pad_to_window(x, window):
    """NAT's padding of [B, H, W, C] maps smaller than the window (right and bottom, zeros)."""
    _, h, w, _ = x.shape
    pad_h, pad_w = max(0, window - h), max(0, window - w)
    return F.pad(x, (0, 0, 0, pad_w, 0, pad_h)), h, w


# ----------------------------------------------------------------------------------------------
# The original repository's structure and names.
# ----------------------------------------------------------------------------------------------
class NeighborhoodAttention2D(nn.Module):
    def __init__(self, dim, kernel_size, dilation, num_heads):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.kernel_size, self.dilation = kernel_size, dilation
        self.qkv = nn.Linear(dim, dim * 3)
        self.rpb = nn.Parameter(torch.randn(num_heads, 2 * kernel_size - 1, 2 * kernel_size - 1))
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        x, h0, w0 = pad_to_window(x, self.kernel_size * self.dilation)
        b, h, w, c = x.shape
        qkv = self.qkv(x).reshape(b, h, w, 3, self.num_heads, self.head_dim).permute(3, 0, 4, 1, 2, 5)
        out = na2d(qkv[0], qkv[1], qkv[2], self.rpb, self.kernel_size, self.dilation, self.head_dim ** -0.5)
        out = out.permute(0, 2, 3, 1, 4).reshape(b, h, w, c)[:, :h0, :w0, :]
        return self.proj(out)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class NATLayer(nn.Module):
    def __init__(self, dim, heads, kernel, dilation, mlp_ratio, layer_scale):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = NeighborhoodAttention2D(dim, kernel, dilation, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.layer_scale = layer_scale is not None
        if self.layer_scale:
            self.gamma1 = nn.Parameter(layer_scale * torch.ones(dim))
            self.gamma2 = nn.Parameter(layer_scale * torch.ones(dim))

    def forward(self, x):
        g1 = self.gamma1 if self.layer_scale else 1.0
        g2 = self.gamma2 if self.layer_scale else 1.0
        x = x + g1 * self.attn(self.norm1(x))
        return x + g2 * self.mlp(self.norm2(x))


class ConvTokenizer(nn.Module):
    def __init__(self, in_chans, dim):
        super().__init__()
        self.proj = nn.Sequential(
            nn.Conv2d(in_chans, dim // 2, 3, 2, 1), nn.Conv2d(dim // 2, dim, 3, 2, 1)
        )
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        return self.norm(self.proj(x).permute(0, 2, 3, 1))


class ConvDownsampler(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.reduction = nn.Conv2d(dim, 2 * dim, 3, 2, 1, bias=False)
        self.norm = nn.LayerNorm(2 * dim)

    def forward(self, x):
        return self.norm(self.reduction(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1))


class NATBlock(nn.Module):
    def __init__(self, dim, depth, heads, kernel, dilations, downsample, mlp_ratio, layer_scale):
        super().__init__()
        self.blocks = nn.ModuleList(
            [NATLayer(dim, heads, kernel, dilations[i], mlp_ratio, layer_scale) for i in range(depth)]
        )
        self.downsample = ConvDownsampler(dim) if downsample else None

    def forward(self, x):
        for blk in self.blocks:
            x = blk(x)
        return x if self.downsample is None else self.downsample(x)


class NAT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        dim, depths = cfg["embed_dim"], cfg["depths"]
        self.patch_embed = ConvTokenizer(cfg["in_chans"], dim)
        self.levels = nn.ModuleList(
            [
                NATBlock(dim * 2 ** i, depths[i], cfg["heads"][i], cfg["kernel"], cfg["dilations"][i],
                         i < len(depths) - 1, cfg["mlp_ratio"], cfg["layer_scale"])
                for i in range(len(depths))
            ]
        )
        self.norm = nn.LayerNorm(dim * 2 ** (len(depths) - 1))
        self.avgpool = nn.AdaptiveAvgPool1d(1)
        self.head = nn.Linear(dim * 2 ** (len(depths) - 1), cfg["classes"])

    def forward(self, x):
        x = self.patch_embed(x)
        for level in self.levels:
            x = level(x)
        x = self.avgpool(self.norm(x).flatten(1, 2).transpose(1, 2))
        return self.head(torch.flatten(x, 1))


class PatchEmbed(nn.Module):
    def __init__(self, patch, in_chans, dim):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, patch, patch)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        return self.norm(self.proj(x).permute(0, 2, 3, 1))


class NATIsotropic(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        dim = cfg["embed_dim"]
        self.patch_embed = PatchEmbed(cfg["patch"], cfg["in_chans"], dim)
        self.layers = nn.Sequential(
            *[NATLayer(dim, cfg["heads"][0], cfg["kernel"], cfg["dilations"][0][i], cfg["mlp_ratio"], None)
              for i in range(cfg["depths"][0])]
        )
        self.norm = nn.LayerNorm(dim)
        self.avgpool = nn.AdaptiveAvgPool1d(1)
        self.head = nn.Linear(dim, cfg["classes"])

    def forward(self, x):
        x = self.layers(self.patch_embed(x))
        x = self.avgpool(self.norm(x.flatten(1, 2)).transpose(1, 2))
        return self.head(torch.flatten(x, 1))


# ----------------------------------------------------------------------------------------------
# Hugging Face transformers' structure and names (NatForImageClassification / Dinat...).
# ----------------------------------------------------------------------------------------------
class HfSelfAttention(nn.Module):
    def __init__(self, dim, heads, kernel, dilation):
        super().__init__()
        self.heads, self.kernel, self.dilation = heads, kernel, dilation
        self.rpb = nn.Parameter(torch.zeros(heads, 2 * kernel - 1, 2 * kernel - 1))
        self.query, self.key, self.value = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)

    def forward(self, x):
        b, h, w, c = x.shape

        def split(t):
            return t.view(b, h, w, self.heads, c // self.heads).permute(0, 3, 1, 2, 4)

        d = c // self.heads
        out = na2d(split(self.query(x)), split(self.key(x)), split(self.value(x)), self.rpb,
                   self.kernel, self.dilation, d ** -0.5)
        return out.permute(0, 2, 3, 1, 4).reshape(b, h, w, c)


class HfDense(nn.Module):
    def __init__(self, dim_in, dim_out):
        super().__init__()
        self.dense = nn.Linear(dim_in, dim_out)


class HfAttention(nn.Module):
    def __init__(self, dim, heads, kernel, dilation):
        super().__init__()
        self.self = HfSelfAttention(dim, heads, kernel, dilation)
        self.output = HfDense(dim, dim)


class HfLayer(nn.Module):
    def __init__(self, dim, heads, kernel, dilation, mlp_ratio, layer_scale):
        super().__init__()
        self.window = kernel * dilation
        self.layernorm_before = nn.LayerNorm(dim)
        self.attention = HfAttention(dim, heads, kernel, dilation)
        self.layernorm_after = nn.LayerNorm(dim)
        self.intermediate = HfDense(dim, int(mlp_ratio * dim))
        self.output = HfDense(int(mlp_ratio * dim), dim)
        self.layer_scale_parameters = (
            nn.Parameter(layer_scale * torch.ones(2, dim)) if layer_scale else None
        )

    def forward(self, x):
        shortcut = x
        h, h0, w0 = pad_to_window(self.layernorm_before(x), self.window)
        a = self.attention.self(h)[:, :h0, :w0, :]
        a = self.attention.output.dense(a)
        if self.layer_scale_parameters is not None:
            a = self.layer_scale_parameters[0] * a
        x = shortcut + a
        m = self.output.dense(F.gelu(self.intermediate.dense(self.layernorm_after(x))))
        if self.layer_scale_parameters is not None:
            m = self.layer_scale_parameters[1] * m
        return x + m


class HfStage(nn.Module):
    def __init__(self, dim, depth, heads, kernel, dilations, downsample, mlp_ratio, layer_scale):
        super().__init__()
        self.layers = nn.ModuleList(
            [HfLayer(dim, heads, kernel, dilations[i], mlp_ratio, layer_scale) for i in range(depth)]
        )
        self.downsample = ConvDownsampler(dim) if downsample else None


class HfPatchEmbeddings(nn.Module):
    def __init__(self, in_chans, dim):
        super().__init__()
        self.projection = nn.Sequential(
            nn.Conv2d(in_chans, dim // 2, 3, 2, 1), nn.Conv2d(dim // 2, dim, 3, 2, 1)
        )


class HfEmbeddings(nn.Module):
    def __init__(self, in_chans, dim):
        super().__init__()
        self.patch_embeddings = HfPatchEmbeddings(in_chans, dim)
        self.norm = nn.LayerNorm(dim)


class HfEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        depths = cfg["depths"]
        self.levels = nn.ModuleList(
            [
                HfStage(cfg["embed_dim"] * 2 ** i, depths[i], cfg["heads"][i], cfg["kernel"],
                        cfg["dilations"][i], i < len(depths) - 1, cfg["mlp_ratio"], cfg["layer_scale"])
                for i in range(len(depths))
            ]
        )


class HfBase(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = HfEmbeddings(cfg["in_chans"], cfg["embed_dim"])
        self.encoder = HfEncoder(cfg)
        self.layernorm = nn.LayerNorm(cfg["embed_dim"] * 2 ** (len(cfg["depths"]) - 1))


class HfForImageClassification(nn.Module):
    def __init__(self, cfg, prefix):
        super().__init__()
        self.prefix = prefix
        setattr(self, prefix, HfBase(cfg))
        self.classifier = nn.Linear(cfg["embed_dim"] * 2 ** (len(cfg["depths"]) - 1), cfg["classes"])

    def forward(self, x):
        base = getattr(self, self.prefix)
        x = base.embeddings.norm(base.embeddings.patch_embeddings.projection(x).permute(0, 2, 3, 1))
        for stage in base.encoder.levels:
            for layer in stage.layers:
                x = layer(x)
            if stage.downsample is not None:
                x = stage.downsample(x)
        return self.classifier(base.layernorm(x).mean(dim=(1, 2)))


def to_hf(state, prefix):
    """Renames an original-repository NAT state dict into transformers' names (query/key/value
    are views of qkv, so the saved storage is shared and the tensors have offsets)."""
    out = OrderedDict()
    for name, t in state.items():
        n = name
        n = n.replace("patch_embed.proj.", "embeddings.patch_embeddings.projection.")
        n = n.replace("patch_embed.norm.", "embeddings.norm.")
        n = n.replace("levels.", "encoder.levels.").replace(".blocks.", ".layers.")
        n = n.replace(".norm1.", ".layernorm_before.").replace(".norm2.", ".layernorm_after.")
        n = n.replace(".attn.rpb", ".attention.self.rpb").replace(".attn.proj.", ".attention.output.dense.")
        n = n.replace(".mlp.fc1.", ".intermediate.dense.").replace(".mlp.fc2.", ".output.dense.")
        if n.startswith("norm."):
            n = n.replace("norm.", "layernorm.", 1)
        if n.startswith("head."):
            out[n.replace("head.", "classifier.")] = t
            continue
        n = prefix + "." + n
        if ".attn.qkv." in n:
            c = t.shape[0] // 3
            for i, part in enumerate(("query", "key", "value")):
                out[n.replace(".attn.qkv.", ".attention.self." + part + ".")] = t[i * c:(i + 1) * c]
        elif n.endswith(".gamma1"):
            out[n.replace(".gamma1", ".layer_scale_parameters")] = torch.stack(
                [t, state[name.replace("gamma1", "gamma2")]])
        elif n.endswith(".gamma2"):
            continue
        else:
            out[n] = t
    return out


# ----------------------------------------------------------------------------------------------
# safetensors, by hand: 8-byte little-endian header length, JSON header, raw little-endian data.
# ----------------------------------------------------------------------------------------------
DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}


def tensor_bytes(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def save_safetensors(tensors, path):
    header, blobs, offset = OrderedDict(), [], 0
    header["__metadata__"] = {"format": "pt"}
    for name, t in tensors.items():
        data = tensor_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)


def randomize(model):
    """Non-trivial values everywhere, LayerNorms and layer scales included."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("rpb"):
                p.copy_(torch.randn_like(p))
            elif "norm" in name or "gamma" in name or "layer_scale" in name:
                p.copy_(1.0 + 0.3 * torch.randn_like(p) if name.endswith("weight") or "gamma" in name
                        or "layer_scale" in name else 0.2 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) * (1.0 / max(1, p[0].numel()) ** 0.5))


def write_case(name, model, state, image_size, in_chans, storage_dtype=torch.float32, batch=2):
    """Saves state (optionally rounded to storage_dtype) as .pth and .safetensors, and the input
    and logits of model computed with exactly the stored values."""
    stored = OrderedDict((k, v.detach().to(storage_dtype)) for k, v in state.items())
    # float32 cases save the state dict itself (an OrderedDict carrying _metadata, as real
    # checkpoints do), so the pickle holds the same opcodes as the published files.
    torch.save(state if storage_dtype == torch.float32 else stored, os.path.join(OUT, name + ".pth"))
    save_safetensors(stored, os.path.join(OUT, name + ".safetensors"))
    x = torch.randn(batch, in_chans, image_size, image_size)
    with torch.no_grad():
        logits = model(x)
    save_safetensors(OrderedDict(input=x, logits=logits), os.path.join(OUT, name + ".io.safetensors"))
    print(f"{name}: {sum(v.numel() for v in stored.values())} parameters, logits {tuple(logits.shape)}")


def rounded(model, dtype):
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(dtype).float())
    return model


def main():
    torch.manual_seed(20240601)
    os.makedirs(OUT, exist_ok=True)

    # NAT, original names, layer scale, 16x16 input: level 1 is 2x2 < kernel 3 (padded).
    nat = dict(in_chans=3, embed_dim=8, depths=[2, 1], heads=[2, 4], kernel=3,
               dilations=[[1, 1], [1]], mlp_ratio=2.0, layer_scale=0.5, classes=5)
    model = NAT(nat).eval()
    randomize(model)
    write_case("nat_tiny", model, model.state_dict(), 16, 3)

    # DiNAT, original names, dilation 2 on 6x6 tokens, no layer scale, stored as float16.
    dinat = dict(in_chans=3, embed_dim=8, depths=[2, 2], heads=[2, 2], kernel=3,
                 dilations=[[1, 2], [1, 1]], mlp_ratio=3.0, layer_scale=None, classes=4)
    model = NAT(dinat).eval()
    randomize(model)
    rounded(model, torch.float16)
    write_case("dinat_tiny_fp16", model, model.state_dict(), 24, 3, torch.float16)

    # DiNAT isotropic, original names, 4x4 patches of a 1-channel 20x20 image, bfloat16 storage.
    iso = dict(in_chans=1, embed_dim=8, depths=[3], heads=[2], kernel=3,
               dilations=[[1, 2, 1]], mlp_ratio=4.0, patch=4, classes=3)
    model = NATIsotropic(iso).eval()
    randomize(model)
    rounded(model, torch.bfloat16)
    write_case("dinat_isotropic_bf16", model, model.state_dict(), 20, 1, torch.bfloat16)

    # Hugging Face names: a NAT with layer scale and a DiNAT without, converted and checked.
    for prefix, cfg, size in (("nat", nat, 16), ("dinat", dinat, 24)):
        original = NAT(cfg).eval()
        randomize(original)
        hf_state = to_hf(original.state_dict(), prefix)
        hf = HfForImageClassification(cfg, prefix).eval()
        hf.load_state_dict(hf_state)
        x = torch.randn(2, 3, size, size)
        with torch.no_grad():
            assert torch.allclose(hf(x), original(x), atol=1e-5), "HF structure disagrees"
        write_case("hf_" + prefix, hf, hf_state, size, 3)


if __name__ == "__main__":
    main()
