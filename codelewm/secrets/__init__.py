"""codelewm.secrets"""
