"""StackGAN Stage-II: train (TRAIN.FLAG True) or write the test-set image grids (TRAIN.FLAG False).

Example:
  python stageII/run_exp.py --cfg stageII/cfg/birds.yml --gpu 0
  python stageII/run_exp.py --cfg stageII/cfg/birds.yml --set TRAIN.FLAG False TRAIN.PRETRAINED_MODEL ckt_logs/birds/stageII

Run `python stageII/run_exp.py --help` for every flag and YAML key; the library is stackgan/cli.py.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # no PYTHONPATH needed

from common_tools.errors import run_cli  # noqa: E402

from stackgan.cli import main  # noqa: E402

if __name__ == "__main__":
    run_cli(lambda argv: main(2, argv))
