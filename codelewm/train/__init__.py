"""codelewm.train"""
