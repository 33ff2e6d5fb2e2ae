@echo off
python -m demo_agent %*
