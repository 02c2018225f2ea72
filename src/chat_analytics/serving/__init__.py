"""Serving: what the dashboard and the HTML report show, read from the published file.

``queries`` holds every SQL statement both read (one copy per view), ``charts`` the Plotly
figures and number formats both draw with, ``app`` the Streamlit script of the dashboard and
``browser`` the headless-Chromium helpers of its browser test and screenshot.
"""
