# SPDX-License-Identifier: MIT
"""The fault matrix (see test_fault_matrix.py) for the tools that write play state: ws-export,
ws-sync and ws-backup restore. A single write answered 404 fails that item only."""
import unittest

from test_fault_matrix import FaultMatrixBase


class FaultMatrixWriters(FaultMatrixBase):
    def test_export(self):
        self.matrix("export")

    def test_sync(self):
        self.matrix("sync")

    def test_backup_restore(self):
        self.matrix("restore")


if __name__ == "__main__":
    unittest.main()
