"""The desktop workbench (PyQt6 + pyqtgraph): the only package that imports Qt.

Qt-free models (``document``, ``edits``, ``evaluation``, ``branches``) hold the state; Qt views
(``editor``, ``inspector``, ``diagram``, ``analysis_table``, ``rf_view``, ``lints``) subscribe to a
``session.Session`` and only draw what it hands them. ``main_window.MainWindow`` assembles them.
"""
