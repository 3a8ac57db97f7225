"""codelewm.sandbox"""
