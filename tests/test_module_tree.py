"""`netcalc count --by module` (issue 19): the module tree with nested totals.

An imported U-Net's tree at depth 2 equals, module by module, what fvcore's FlopCountAnalysis,
ActivationCountAnalysis and parameter_count give (the totals of its flop_count_table), in the
fvcore convention; family specs nest stage, block and layer.
"""
import json
import re

import pytest
from click.testing import CliRunner

from netcalc.cli import main


def count_json(*args):
    result = CliRunner().invoke(main, ["count", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.slow       # about 6 s: fvcore traces the U-Net three times
def test_imported_unet_by_module_equals_fvcore_per_module(tmp_path):
    torch = pytest.importorskip("torch")
    fvcore_nn = pytest.importorskip("fvcore.nn")
    import netcalc
    from unet_model import UNet

    model = UNet().eval()
    spec = tmp_path / "unet.yaml"
    spec.write_text(netcalc.to_yaml(netcalc.from_torch(model, 32)))
    rows = count_json(str(spec), "--by", "module", "--depth", "2",
                      "--convention", "fvcore")["breakdown"]
    ours = {row["name"]: (row["flops"], row["params"], row["acts"]) for row in rows}
    x = torch.zeros(1, 3, 32, 32)
    flops = fvcore_nn.FlopCountAnalysis(model, x).unsupported_ops_warnings(False)
    acts = fvcore_nn.ActivationCountAnalysis(model, x).unsupported_ops_warnings(False)
    params = fvcore_nn.parameter_count(model)
    by_flops, by_acts = flops.by_module(), acts.by_module()
    shown = [name for name in by_flops if name.count(".") < 2]   # depth 0, 1 and 2
    theirs = {name: (by_flops[name], params[name], by_acts[name]) for name in shown}
    # every module fvcore lists to depth 2 has a row with fvcore's totals (relu rows: 0)
    assert {name: ours.get(name, (0, 0, 0)) for name in shown} == theirs
    # rows fvcore does not have are the functions a module's forward calls (torch.cat in up1's:
    # `up1.cat`), each under a module fvcore lists and named like no module of the model
    modules = dict(model.named_modules())
    extra = set(ours) - set(shown)
    assert all(name.rsplit(".", 1)[0] in shown and name not in modules for name in extra), extra
    # the decoder's `up1` holds its upsample, concatenation and both convs: far more than the
    # upsample alone (what --by block showed for it before)
    assert ours["up1"][0] > 10 * ours["up1.up"][0] > 0


def test_family_specs_nest_stage_block_and_layer():
    rows = count_json("regnetx_200mf", "--by", "module", "--depth", "3")["breakdown"]
    total = count_json("regnetx_200mf", "--by", "total")
    assert rows[0] == {"name": "", "depth": 0, "flops": total["flops"],
                       "params": total["params"], "acts": total["acts"]}
    by_stage = count_json("regnetx_200mf", "--by", "stage")["breakdown"]
    stages = [r for r in rows if r["depth"] == 1]
    assert [(r["name"], r["flops"], r["params"], r["acts"]) for r in stages] == \
        [(r["name"], r["flops"], r["params"], r["acts"]) for r in by_stage]
    by_block = count_json("regnetx_200mf", "--by", "block")["breakdown"]
    blocks = {r["name"]: r["flops"] for r in rows if re.fullmatch(r"s\d+\.b\d+", r["name"])}
    assert blocks == {r["name"]: r["flops"] for r in by_block if "." in r["name"]}
    assert [r["name"] for r in rows if r["depth"] == 3][:3] == ["s1.b1.a", "s1.b1.a_bn",
                                                                 "s1.b1.a_relu"]
    # every level sums its children exactly
    for parent in rows:
        children = [r for r in rows if r["depth"] == parent["depth"] + 1
                    and r["name"].startswith(parent["name"] + "." if parent["name"] else "")]
        if children:
            assert sum(c["flops"] for c in children) == parent["flops"], parent["name"]


def test_depth_bounds_the_rows_not_the_sums():
    one = count_json("regnetx_200mf", "--by", "module", "--depth", "1")["breakdown"]
    assert {r["depth"] for r in one} == {0, 1}
    assert one[0]["flops"] == count_json("regnetx_200mf", "--by", "total")["flops"]
    result = CliRunner().invoke(main, ["count", "regnetx_200mf", "--depth", "2"])
    assert result.exit_code == 2 and "--depth: applies to --by module only" in result.output


def test_module_table_and_csv():
    table = CliRunner().invoke(main, ["count", "regnetx_200mf", "--by", "module", "--depth", "1"])
    lines = table.stdout.splitlines()
    assert lines[1].split() == ["module", "flops", "(MACs)", "params", "acts"]
    assert lines[3].split()[:2] == ["model", "199.04"] and lines[4].startswith("  stem ")
    csv = CliRunner().invoke(main, ["count", "regnetx_200mf", "--by", "module", "--depth", "1",
                                    "--format", "csv"]).stdout.splitlines()
    assert csv[0] == "spec,model,convention,resolution,level,name,depth,flops,params,acts"
    total = count_json("regnetx_200mf", "--by", "total")
    assert csv[1] == (f"regnetx_200mf,RegNetX-200MF,pycls,224,module,,0,{total['flops']},"
                      f"{total['params']},{total['acts']}")
