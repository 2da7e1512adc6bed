"""Benchmarks report rates per core: every benchmark runs torch and OpenCV on one thread."""

import cv2
import pytest
import torch


@pytest.fixture(autouse=True)
def one_core():
    threads, cv_threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    yield
    torch.set_num_threads(threads)
    cv2.setNumThreads(cv_threads)
